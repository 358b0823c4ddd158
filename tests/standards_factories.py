"""Test data builders for standards: standards and versions, taskforces, consultations, comments.

They write rows directly (no event log, no e-mail), in the states the services would leave
them, so a test can start from any step. Dates default to a fixed past so versions are in
force on ``TODAY``.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from standards.models import (
    Consultation,
    ConsultationComment,
    Standard,
    StandardKind,
    StandardRule,
    StandardVersion,
    TaskforceMember,
    VersionStatus,
)
from tests.factories import make_user

TODAY = date(2026, 3, 2)
RULES = (
    "The mediator tells the parties how the platform keeps their data",
    "The mediator checks that each party can use the platform",
    "Private sessions cannot be entered or recorded by the other party",
)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def make_board_member(
    session: Session, *, email: str = "board@example.org", name: str = "Bea Board"
) -> User:
    return make_user(session, email=email, name=name, roles=[Role.BOARD_MEMBER])


def make_committee_member(
    session: Session, *, email: str = "member@example.org", name: str = "Mo Member"
) -> User:
    return make_user(session, email=email, name=name, roles=[Role.COMMITTEE_MEMBER])


def make_standard(
    session: Session,
    *,
    code: str = "ETH",
    title: str = "Online mediation ethics",
    kind: str = StandardKind.GUIDANCE,
    applies_to: str = "",
    rules: Sequence[str] | None = RULES,
    published_on: date | None = date(2025, 1, 1),
) -> Standard:
    """Return a new standard; with ``rules``, its version 1 (published unless ``published_on``
    is None, then in drafting)."""
    standard = Standard(
        code=code,
        title=title,
        purpose="Why it exists.",
        scope="What it covers.",
        kind=kind,
        applies_to=applies_to,
        created_at=at(date(2024, 12, 1)),
    )
    session.add(standard)
    session.flush()
    if rules is not None:
        if published_on is None:
            make_draft_version(session, standard, rules=rules)
        else:
            make_published_version(session, standard, rules=rules, published_on=published_on)
    return standard


def _rules(standard: Standard, rules: Sequence[str | tuple[str, str]]) -> list[StandardRule]:
    made = []
    for position, rule in enumerate(rules, start=1):
        code, body = rule if isinstance(rule, tuple) else (f"{standard.code}-{position}", rule)
        made.append(StandardRule(code=code, position=position, body=body))
    return made


def make_published_version(
    session: Session,
    standard: Standard,
    *,
    rules: Sequence[str | tuple[str, str]] = RULES,
    published_on: date = date(2025, 1, 1),
    change_summary: str = "",
    approved_by: User | None = None,
) -> StandardVersion:
    """Publish the standard's next version with ``rules`` (bodies, or (code, body) pairs)."""
    version = StandardVersion(
        standard=standard,
        number=len(standard.versions) + 1,
        status=VersionStatus.PUBLISHED,
        change_summary=change_summary,
        created_at=at(published_on - timedelta(days=30)),
        published_on=published_on,
        published_at=at(published_on),
        approved_by=approved_by,
    )
    version.rules = _rules(standard, rules)
    session.add(version)
    session.flush()
    return version


def make_draft_version(
    session: Session,
    standard: Standard,
    *,
    rules: Sequence[str | tuple[str, str]] = RULES,
    status: str = VersionStatus.DRAFTING,
) -> StandardVersion:
    """Return the standard's next version in ``status`` (not published) with ``rules``."""
    version = StandardVersion(
        standard=standard,
        number=len(standard.versions) + 1,
        status=status,
        created_at=at(TODAY - timedelta(days=60)),
    )
    version.rules = _rules(standard, rules)
    session.add(version)
    session.flush()
    return version


def make_taskforce(
    session: Session,
    standard: Standard,
    *,
    chair: User | None = None,
    members: Sequence[User] = (),
    starts_on: date = date(2025, 1, 1),
    ends_on: date = date(2027, 12, 31),
    appointed_by: User | None = None,
) -> User:
    """Seat a chair (made if not given) and ``members`` on the taskforce; return the chair."""
    chair = chair or make_committee_member(session, email="chair@example.org", name="Cy Chair")
    board = appointed_by or make_board_member(
        session, email=f"appointer-{standard.code.lower()}@example.org"
    )
    for user, is_chair in ((chair, True), *((member, False) for member in members)):
        session.add(
            TaskforceMember(
                standard_id=standard.id,
                user_id=user.id,
                is_chair=is_chair,
                term_starts_on=starts_on,
                term_ends_on=ends_on,
                appointed_at=at(starts_on),
                appointed_by_id=board.id,
            )
        )
    session.flush()
    return chair


def open_consultation(
    session: Session,
    version: StandardVersion,
    *,
    opened_on: date = TODAY - timedelta(days=20),
    closes_on: date = TODAY + timedelta(days=10),
    by: User | None = None,
) -> Consultation:
    """Put the version in public consultation (the next round), snapshotting its rules."""
    opener = by or make_committee_member(
        session, email=f"opener-{version.id}@example.org", name="Op Ener"
    )
    rounds = session.scalar(
        select(func.count()).select_from(Consultation).where(Consultation.version_id == version.id)
    )
    consultation = Consultation(
        version_id=version.id,
        round=rounds + 1,
        rules=[{"code": rule.code, "body": rule.body} for rule in version.rules],
        draft_revision=version.draft_revision,
        opened_on=opened_on,
        closes_on=closes_on,
        opened_at=at(opened_on),
        opened_by_id=opener.id,
    )
    session.add(consultation)
    version.status = VersionStatus.CONSULTATION
    session.flush()
    return consultation


def close_consultation(session: Session, consultation: Consultation) -> Consultation:
    """Close the consultation the day after its last day; the version goes to revising."""
    consultation.closed_at = at(consultation.closes_on + timedelta(days=1), 2)
    consultation.version.status = VersionStatus.REVISING
    session.flush()
    return consultation


def make_comment(
    session: Session,
    consultation: Consultation,
    *,
    body: str = "Please say what happens when a party records the session.",
    rule_code: str | None = None,
    author: User | None = None,
    author_name: str | None = None,
    author_email: str | None = None,
    confirmed: bool = True,
    anonymous: bool = False,
    hidden_reason: str | None = None,
) -> ConsultationComment:
    """Add a comment: by ``author`` (an account), by name and e-mail, or ``anonymous``."""
    if not (author or author_email or anonymous):
        author_name, author_email = "Noor Named", "noor@example.org"
    created = at(consultation.opened_on + timedelta(days=1))
    comment = ConsultationComment(
        consultation_id=consultation.id,
        rule_code=rule_code,
        body=body,
        created_at=created,
        is_anonymous=anonymous,
        author_id=author.id if author else None,
        author_name=author_name,
        author_email=author_email,
        confirmed_at=created if author_email and confirmed else None,
        hidden_at=created + timedelta(hours=2) if hidden_reason else None,
        hidden_reason=hidden_reason,
    )
    session.add(comment)
    session.flush()
    return comment
