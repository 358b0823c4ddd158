"""Demo complaints at every level, loaded by ``mediator-registry demo`` (the registry's
``demo_loaders`` hook), all through the real services.

Kofi Committee sits on the Professional Conduct Committee and the Governance Taskforce; a
conduct complaint about a certified demo mediator waits for his assessment, which can suspend
the mediator (README, "A complaint from filing to the Board").
"""

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints import services
from complaints.committees import add_member
from complaints.models import Committee, Complaint, Subject
from registry.accounts.models import User
from registry.accounts.services import find_user
from registry.mediators.models import Mediator, Status
from registry.mediators.status import mediator_standing
from registry.organisations.models import Program

DOMAIN = "demo.registry.example"
CONDUCT = (
    "During our mediation in March the mediator met one party alone several times and then "
    "pressed me to accept an offer, saying the other side's lawyer was a personal friend."
)
PROGRAM = (
    "The assessment date of the program was moved twice at a week's notice and the fee was "
    "not refunded when I could not attend the new date."
)
OTHER = (
    "I was invoiced twice for the same listing year and support's first answer did not "
    "address the double charge at all."
)
RESOLVED = "The direct profile link printed on my certificate led to a page that was not found."
REGISTRY = (
    "The verification page showed a mediator as certified for two days after I had been told "
    "the certification was struck."
)


def _people(session: Session) -> dict[str, User]:
    names = ("admin", "support", "director", "committee", "board")
    return {local: find_user(session, f"{local}@{DOMAIN}") for local in names}


def _certified_mediator(session: Session, today: date) -> Mediator:
    for mediator in session.scalars(select(Mediator).order_by(Mediator.id)):
        if mediator.certifications and (
            mediator_standing(session, mediator, today).status is Status.CERTIFIED
        ):
            return mediator
    raise LookupError("the demo register has no certified mediator")


def load_complaint_demo(session: Session, *, today: date, now: datetime) -> None:
    """File the demo complaints and carry them to their levels."""
    people = _people(session)
    for committee_id in (1, 3):  # the conduct committee and the governance taskforce
        committee = session.get(Committee, committee_id)
        add_member(session, committee, people["committee"], now=now, actor=people["admin"])
    # Anonymous, just filed: waits for Support.
    _file(session, Subject.REGISTRY, REGISTRY, now=now - timedelta(hours=3))
    # Named, about a program: answered by Support, escalated by the complainant, with the
    # Executive Director now.
    program = session.scalars(
        select(Program).where(Program.is_recognised).order_by(Program.id)
    ).first()
    about_program = _file(
        session, Subject.PROGRAM, PROGRAM, now=now - timedelta(days=12), program=program
    )
    services.respond_to_complaint(
        session,
        about_program,
        body="We have asked the organisation for its rescheduling policy and refund terms.",
        actor=people["support"],
        now=now - timedelta(days=9),
    )
    services.request_escalation(
        session,
        about_program,
        reason="The organisation has still not refunded the fee.",
        now=now - timedelta(days=4),
    )
    _to_the_board(session, people, now)
    # Conduct: discussed and mediated without agreement; waits for the committee's assessment.
    conduct = _file(
        session,
        Subject.MEDIATOR,
        CONDUCT,
        now=now - timedelta(days=40),
        mediator=_certified_mediator(session, today),
    )
    for actor, days in (("support", 35), ("director", 10)):
        services.acknowledge_complaint(
            session, conduct, actor=people[actor], now=now - timedelta(days=days + 1)
        )
        services.escalate_complaint(
            session,
            conduct,
            reason="No agreement between the complainant and the mediator.",
            actor=people[actor],
            now=now - timedelta(days=days),
        )


def _to_the_board(session: Session, people: dict[str, User], now: datetime) -> None:
    """A complaint that climbed every level and waits for the Board, and one resolved."""
    climbing = _file(session, Subject.OTHER, OTHER, now=now - timedelta(days=60))
    for actor, days in (("support", 50), ("director", 30), ("committee", 8)):
        services.respond_to_complaint(
            session,
            climbing,
            body="We looked into the renewal reminders and found them correct.",
            actor=people[actor],
            now=now - timedelta(days=days + 2),
        )
        services.request_escalation(
            session,
            climbing,
            reason="The answer does not explain why I was charged twice.",
            now=now - timedelta(days=days),
        )
    resolved = _file(session, Subject.REGISTRY, RESOLVED, now=now - timedelta(days=20))
    services.resolve_complaint(
        session,
        resolved,
        outcome="The profile link was corrected the same day; thank you for telling us.",
        actor=people["support"],
        now=now - timedelta(days=18),
        today=(now - timedelta(days=18)).date(),
    )


def _file(session: Session, subject: Subject, text: str, *, now: datetime, **about) -> Complaint:  # type: ignore[no-untyped-def]
    named = subject != Subject.REGISTRY
    return services.file_complaint(
        session,
        subject=subject,
        description=text,
        is_anonymous=not named,
        name="Pat Complainant" if named else None,
        email="pat.complainant@example.org" if named else None,
        now=now,
        **about,
    ).complaint
