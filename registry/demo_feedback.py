"""Demo Feedback Digests: parties' answers, a peer reviewer's declaration, a published digest.

The answers are written as the parties' one-time links would have written them (the links
themselves closed long ago, so no address is kept); everything after that goes through the
real services with past dates: the assignment, the "no conflict" declaration, publication
with the scores the system computes.
"""

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.clock import registry_zone
from registry.digests.services import assign_reviewer, declare_conflict, publish_digest
from registry.feedback.models import (
    DIMENSION_CODES,
    FeedbackAnswer,
    FeedbackRequest,
    FeedbackScore,
    MediationKind,
)
from registry.mediators.models import Mediator

WENT_WELL = [
    "Gave both sides time to speak and summarised what each of us needed.",
    "Very well prepared; knew the file and the numbers before we started.",
    "Kept calm when the discussion became heated and brought us back to the options.",
    "Explained the process clearly at the start, which put us at ease.",
    "Helped us see a solution neither of us had thought of.",
]
COULD_IMPROVE = [
    "",
    "The afternoon session ran late; a clearer timetable would help.",
    "Could have asked earlier whether we wanted separate meetings.",
    "",
    "Written follow-up after the session came a few days later than promised.",
]
SUMMARIES = [
    "Parties describe a well-prepared, even-handed mediator who explains the process clearly "
    "and keeps difficult conversations on track. Some would have liked a firmer timetable.",
    "Consistently praised for listening and for helping parties find their own options. "
    "A few answers ask for earlier offers of separate meetings.",
    "Answers agree on impartiality and calm under pressure; preparation is rated highly. "
    "Follow-up after sessions could be quicker.",
]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=registry_zone())


def _answers(
    session: Session, mediator: Mediator, day: date, rng: random.Random, count: int
) -> None:
    """Write ``count`` answers about one mediation that ended a few weeks before ``day``."""
    held = day - timedelta(days=rng.randint(30, 120))
    request = FeedbackRequest(
        mediator=mediator,
        mediation_month=held.replace(day=1),
        mediation_kind=rng.choice(list(MediationKind)).value,
        created_at=_at(held + timedelta(days=7)),
        created_by_id=mediator.user_id,
    )
    session.add(request)
    session.flush()
    for _ in range(count):
        base = rng.choice([3, 4, 4, 5, 5])
        session.add(
            FeedbackAnswer(
                mediator_id=mediator.id,
                request_id=request.id,
                submitted_on=min(held + timedelta(days=rng.randint(8, 25)), day),
                went_well=rng.choice(WENT_WELL),
                could_improve=rng.choice(COULD_IMPROVE),
                scores=[
                    FeedbackScore(
                        dimension=code, score=max(1, min(5, base + rng.choice([-1, 0, 0, 1])))
                    )
                    for code in DIMENSION_CODES
                ],
            )
        )
    session.flush()


def publish_demo_digest(
    session: Session,
    mediator: Mediator,
    *,
    reviewer: User,
    staff: User,
    published_on: date,
    rng: random.Random,
) -> None:
    """Give ``mediator`` a digest published on ``published_on`` from three to five answers."""
    _answers(session, mediator, published_on, rng, rng.randint(3, 5))
    assignment = assign_reviewer(
        session, mediator, reviewer, now=_at(published_on - timedelta(days=5)), actor=staff
    )
    declare_conflict(
        session,
        assignment,
        has_conflict=False,
        details="",
        now=_at(published_on - timedelta(days=4)),
        actor=reviewer,
    )
    publish_digest(
        session,
        assignment,
        summary=rng.choice(SUMMARIES),
        today=published_on,
        now=_at(published_on, 15),
        actor=reviewer,
    )


def answers_waiting(
    session: Session, mediator: Mediator, *, today: date, rng: random.Random, count: int
) -> None:
    """Leave ``count`` answers waiting for a digest (an applicant part of the way there)."""
    _answers(session, mediator, today, rng, count)
