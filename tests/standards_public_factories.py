"""Test data builders for the public side of standards: rows made directly, without the
standard-setting services (a standard, its versions and rules, a taskforce, a consultation)."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from registry.accounts.models import Role, User
from registry.accounts.services import find_user
from registry.database import utcnow
from standards.models import (
    CommentAnswer,
    Consultation,
    ConsultationComment,
    Standard,
    StandardRule,
    StandardVersion,
    TaskforceMember,
    VersionStatus,
)
from tests.factories import make_user

APPOINTER = "appointer@example.org"  # a Board member who appoints taskforces

RULES_V1 = [
    ("TST-1", "The program publishes its assessment criteria."),
    ("TST-2", "Assessors declare conflicts of interest before each assessment."),
    ("TST-3", "Candidates may appeal a result within thirty days."),
]
# TST-1 unchanged, TST-2 reworded, TST-3 removed, TST-4 added.
RULES_V2 = [
    ("TST-1", "The program publishes its assessment criteria."),
    ("TST-2", "Assessors declare any conflict of interest in writing before each assessment."),
    ("TST-4", "The program keeps assessment records for five years."),
]


def make_standard(
    session: Session, *, code: str = "TST", title: str = "Test assessment criteria"
) -> Standard:
    standard = Standard(
        code=code,
        title=title,
        purpose="Say what a fair assessment is.",
        scope="Assessment programs.",
        kind="criteria",
        applies_to="QAP",
        created_at=utcnow(),
    )
    session.add(standard)
    session.flush()
    return standard


def add_version(
    session: Session,
    standard: Standard,
    number: int,
    rules: Sequence[tuple[str, str]],
    *,
    published_on: date | None = None,
    change_summary: str = "",
) -> StandardVersion:
    """Add version ``number``: published on ``published_on``, else a draft under consultation."""
    version = StandardVersion(
        standard=standard,
        number=number,
        status=VersionStatus.PUBLISHED if published_on else VersionStatus.CONSULTATION,
        change_summary=change_summary,
        created_at=utcnow(),
        published_on=published_on,
        published_at=datetime.combine(published_on, time(), tzinfo=UTC) if published_on else None,
        rules=[
            StandardRule(code=code, position=position, body=body)
            for position, (code, body) in enumerate(rules, start=1)
        ],
    )
    session.add(version)
    session.flush()
    return version


def two_versions(session: Session) -> tuple[Standard, StandardVersion, StandardVersion]:
    """A standard with version 1 (2025) and version 2 (2026) published."""
    standard = make_standard(session)
    first = add_version(session, standard, 1, RULES_V1, published_on=date(2025, 1, 1))
    second = add_version(
        session,
        standard,
        2,
        RULES_V2,
        published_on=date(2026, 1, 1),
        change_summary="Conflicts are declared in writing; records are kept.",
    )
    return standard, first, second


def seat(
    session: Session,
    standard: Standard,
    *,
    email: str,
    name: str,
    is_chair: bool = False,
    today: date | None = None,
) -> User:
    """Return a new committee member serving on the standard's taskforce around ``today``."""
    today = today or date.today()
    user = make_user(session, email=email, name=name, roles=[Role.COMMITTEE_MEMBER])
    appointer = find_user(session, APPOINTER) or make_user(
        session, email=APPOINTER, name="Board Appointer", roles=[Role.BOARD_MEMBER]
    )
    session.add(
        TaskforceMember(
            standard_id=standard.id,
            user_id=user.id,
            is_chair=is_chair,
            term_starts_on=today - timedelta(days=365),
            term_ends_on=today + timedelta(days=365),
            appointed_at=utcnow(),
            appointed_by_id=appointer.id,
        )
    )
    session.flush()
    return user


def open_consultation(
    session: Session,
    version: StandardVersion,
    *,
    opened_on: date,
    closes_on: date,
    opened_by: User,
    round_: int = 1,
    closed: bool = False,
) -> Consultation:
    consultation = Consultation(
        version=version,
        round=round_,
        rules=[{"code": rule.code, "body": rule.body} for rule in version.rules],
        draft_revision=version.draft_revision or 1,
        opened_on=opened_on,
        closes_on=closes_on,
        opened_at=utcnow(),
        opened_by_id=opened_by.id,
        closed_at=utcnow() if closed else None,
    )
    session.add(consultation)
    session.flush()
    return consultation


def add_comment(
    session: Session,
    consultation: Consultation,
    body: str,
    *,
    author: User | None = None,
    rule_code: str | None = None,
) -> ConsultationComment:
    comment = ConsultationComment(
        consultation=consultation,
        body=body,
        rule_code=rule_code,
        created_at=utcnow(),
        is_anonymous=author is None,
        author_id=author.id if author else None,
    )
    session.add(comment)
    session.flush()
    return comment


def answer(
    session: Session,
    consultation: Consultation,
    comments: Sequence[ConsultationComment],
    *,
    verdict: str,
    body: str,
    by: User,
) -> CommentAnswer:
    reply = CommentAnswer(
        consultation_id=consultation.id,
        verdict=verdict,
        body=body,
        answered_at=utcnow(),
        answered_by_id=by.id,
    )
    session.add(reply)
    session.flush()
    for comment in comments:
        comment.answer_id = reply.id
    session.flush()
    return reply
