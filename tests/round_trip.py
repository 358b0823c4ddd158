"""What a verifier sees of a whole register, to compare two registries after a migration.

``verifier_view`` answers, for every mediator (by e-mail, the one key both registries share),
what the public API would: the Verification of the profile (public id, name, every
certification's number, type, status, status_since, reason, outlook, the live granted
specialisations) and of each certificate number, old ones included. ``differences`` counts
the mediators whose answers differ, in total and by what differs.
"""

import io
from collections import Counter
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.database import db, make_engine, utcnow
from registry.mediators.csvio import export_mediators, import_mediators
from registry.mediators.models import Certification, Mediator
from registry.operations.copy import database_checksums
from registry.search.verification import verify_certificate, verify_mediator


def verifier_view(session: Session, today: date) -> dict[str, dict[str, Any]]:
    """Return what the public is told about each mediator today, keyed by e-mail."""
    view = {}
    for mediator in session.scalars(select(Mediator).order_by(Mediator.id)):
        profile = verify_mediator(session, mediator.public_id, today)
        numbers = session.scalars(
            select(Certification.certificate_number)
            .where(Certification.mediator_id == mediator.id)
            .order_by(Certification.certificate_number)
        ).all()
        view[mediator.email] = {
            "profile": profile.as_json(),
            "numbers": {
                number: verify_certificate(session, number, today).as_json() for number in numbers
            },
        }
    return view


def _aspects(before: dict[str, Any], after: dict[str, Any] | None) -> set[str]:
    """Return which parts of one mediator's answers differ."""
    if after is None:
        return {"missing"}
    if before == after:
        return set()
    old, new = before["profile"], after["profile"]
    aspects = {
        key
        for key in ("public_id", "status", "status_since", "reason", "certificate_number")
        if old.get(key) != new.get(key)
    }
    if old["specialisations"] != new["specialisations"]:
        aspects.add("specialisations")
    if old["certifications"] != new["certifications"]:
        aspects.add("certifications")
    if before["numbers"] != after["numbers"]:
        aspects.add("certificate answers")
    return aspects or {"other"}


def differences(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> tuple[int, Counter[str]]:
    """Return how many mediators' answers differ, and how many differ in each aspect."""
    changed, by_aspect = 0, Counter()
    for email, answers in before.items():
        aspects = _aspects(answers, after.get(email))
        changed += bool(aspects)
        by_aspect.update(aspects)
    extra = set(after) - set(before)
    if extra:
        by_aspect["extra"] = len(extra)
    return changed, by_aspect


def export_for_import(app: Flask, today: date) -> str:
    """Return the register of ``app`` exported for import."""
    out = io.StringIO()
    with app.app_context(), app.extensions["db"].reader() as session:
        export_mediators(session, out, today=today, for_import=True)
    return out.getvalue()


def import_file(app: Flask, text: str, today: date) -> str:
    """Import ``text`` into the register of ``app`` (committed); return the summary."""
    with app.app_context(), db.transaction() as session:
        summary = import_mediators(
            session,
            io.BytesIO(text.encode()),
            today=today,
            now=utcnow(),
            actor=None,
            source="round-trip.csv",
            specialisations_are_granted=True,
        )
    return str(summary)


def view_of(app: Flask, today: date) -> dict[str, dict[str, Any]]:
    """Return ``verifier_view`` of the register of ``app``."""
    with app.app_context(), app.extensions["db"].reader() as session:
        return verifier_view(session, today)


def checksums(url: str) -> dict[str, tuple[int, str]]:
    """Return each table's row count and checksum in the database at ``url`` (``db copy``'s)."""
    engine = make_engine(url)
    try:
        return database_checksums(engine)
    finally:
        engine.dispose()
