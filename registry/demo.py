"""Demo data: staff of every role and a few hundred mediators in every lifecycle status.

Every demo account signs in with DEMO_PASSWORD (see README.md). Loading is refused on a
production database that already holds data, and done at most once.
"""

import random

from flask import Flask
from sqlalchemy import delete, func, select

from registry.accounts.models import Role, User
from registry.accounts.services import create_user, find_user, hash_password
from registry.clock import local_today
from registry.database import utcnow
from registry.demo_register import load_register
from registry.extensions import db
from registry.mail.models import OutboxMessage

DEMO_PASSWORD = "registry-demo-2026"  # noqa: S105 (documented demo credential)
DEMO_DOMAIN = "demo.registry.example"
MEDIATOR_COUNT = 300

STAFF = [
    ("admin", "Ada Administrator", [Role.ADMINISTRATOR]),
    ("support", "Sam Support", [Role.SUPPORT]),
    ("director", "Dana Director", [Role.EXECUTIVE_DIRECTOR]),
    ("committee", "Kofi Committee", [Role.COMMITTEE_MEMBER]),
    ("board", "Beatriz Board", [Role.BOARD_MEMBER]),
    ("appraiser", "Aino Appraiser", [Role.APPRAISER]),
    ("appraiser2", "Bruno Appraiser", [Role.APPRAISER]),
    ("appraiser3", "Chiara Appraiser", [Role.APPRAISER]),
    ("reviewer", "Ravi Reviewer", [Role.PEER_REVIEWER]),
    ("organisation", "Olga Organisation", [Role.ORGANISATION_ADMIN]),
    ("mediator", "Marta Mediator", [Role.MEDIATOR]),
    ("applicant", "Amal Applicant", [Role.MEDIATOR]),
    ("chair", "Chen Chair", [Role.COMMITTEE_MEMBER, Role.APPRAISER]),
    ("taskforce", "Tomasz Taskforce", [Role.COMMITTEE_MEMBER]),
]

GIVEN_NAMES = [
    "Łukasz",
    "Zoë",
    "José",
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Émile",
    "Fatima",
    "Giulia",
    "Hiroshi",
    "Ingrid",
    "Jürgen",
    "Kwame",
    "Leïla",
    "Mateus",
    "Nguyễn Thị",
    "Oğuz",
    "Priya",
    "Rúben",
    "Siobhán",
    "Tomás",
    "Ulrike",
    "Václav",
    "Wanjiru",
    "Xóchitl",
    "Yusuf",
    "Zsófia",
    "Amara",
    "Bartosz",
    "Camille",
    "Dagný",
    "Eero",
    "François",
    "Grégoire",
    "Hana",
    "Işıl",
]
FAMILY_NAMES = [
    "Müller", "Mueller", "Nowak", "García", "Dubois", "Rossi", "Tanaka", "Ólafsdóttir", "Nguyễn",
    "Mensah", "Kowalczyk", "Søndergaard", "O'Connor", "Van der Berg", "Novák", "Yılmaz",
    "Fernández", "Schäfer", "Okafor", "Lindqvist", "Pérez", "Costa", "Haddad", "Kim", "Singh",
    "Ferreira", "Wiśniewski", "Papadopoulos", "Łęcka", "Dvořák", "Jovanović", "Ashworth",
]  # fmt: skip


class DemoRefused(RuntimeError):
    """Demo data may not go into this database."""


def load_demo(app: Flask) -> str:
    """Load the demo accounts and return a summary of what was done."""
    now = utcnow()
    with db.transaction() as session:
        if find_user(session, f"admin@{DEMO_DOMAIN}") is not None:
            return "Demo data is already loaded; nothing changed."
        has_data = session.scalar(select(func.count(User.id))) > 0
        if has_data and app.config["REGISTRY_ENV"] != "development":
            raise DemoRefused(
                "Demo data goes only into an empty or development database; this one is "
                f"a {app.config['REGISTRY_ENV']} database with data in it."
            )
        # One hash for every demo account: hashing hundreds of passwords one by one with
        # Argon2 takes a minute, and these accounts share a published password anyway.
        shared_hash = hash_password(DEMO_PASSWORD)
        for local, name, roles in STAFF:
            _demo_user(session, f"{local}@{DEMO_DOMAIN}", name, roles, shared_hash, now)
        rng = random.Random(2026)  # noqa: S311 (repeatable demo names, not secrets)
        mediators = []
        for number in range(1, MEDIATOR_COUNT + 1):
            name = f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}"
            email = f"mediator{number:03}@{DEMO_DOMAIN}"
            mediators.append(_demo_user(session, email, name, [Role.MEDIATOR], shared_hash, now))
        counts = load_register(
            session,
            staff=find_user(session, f"support@{DEMO_DOMAIN}"),
            reviewer=find_user(session, f"reviewer@{DEMO_DOMAIN}"),
            mediators=mediators,
            marta=find_user(session, f"mediator@{DEMO_DOMAIN}"),
            applicant=find_user(session, f"applicant@{DEMO_DOMAIN}"),
            organisation_admin=find_user(session, f"organisation@{DEMO_DOMAIN}"),
            today=local_today(),
            now=now,
        )
        # Domains outside the registry package (audits) add their demo data through this
        # hook, so the registry never imports them by name.
        for load_more in app.extensions.get("demo_loaders", []):
            load_more(session, today=local_today(), now=now)
        # The past-dated history queued mail as it went (digests published, declarations);
        # nobody should receive years-old news, and the outbox is where the walk-through
        # reads the feedback links it is about to send.
        session.execute(delete(OutboxMessage).where(OutboxMessage.created_at < now))
    states = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    return (
        f"Loaded {len(STAFF)} demo staff and {MEDIATOR_COUNT} demo mediators ({states}), "
        f"with organisations, programs and a fee schedule. "
        f"Sign in as admin@{DEMO_DOMAIN} with the password {DEMO_PASSWORD}."
    )


def _demo_user(session, email, name, roles, password_hash, now) -> User:  # type: ignore[no-untyped-def]
    user = create_user(session, email=email, name=name, password=None, roles=roles, now=now)
    user.password_hash = password_hash
    return user
