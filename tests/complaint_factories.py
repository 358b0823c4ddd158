"""Test data builders for complaints: the handlers of every level, complaints at a level."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from complaints import services
from complaints.models import CommitteeMember, Complaint, Level, Status, Subject
from registry.accounts.models import Role, User
from registry.contributions.models import FeeRate
from registry.database import utcnow
from registry.mediators.models import Mediator
from tests.factories import grant, make_mediator, make_user, set_fees

DESCRIPTION = "The registry took three months to answer my certification question."
TODAY = date(2024, 6, 1)

# The committees migration 0006 creates, and the subjects routed to them.
CONDUCT_COMMITTEE, APPRAISAL_COMMITTEE, GOVERNANCE_TASKFORCE = 1, 2, 3
COMMITTEE_OF = {
    Subject.MEDIATOR: CONDUCT_COMMITTEE,
    Subject.PROGRAM: APPRAISAL_COMMITTEE,
    Subject.REGISTRY: GOVERNANCE_TASKFORCE,
    Subject.OTHER: GOVERNANCE_TASKFORCE,
}


@dataclass(frozen=True)
class Handlers:
    support: User
    director: User
    # One member per seeded committee, by committee id.
    members: dict[int, User]
    board: User
    # An administrator (and nothing else): sees no complaint.
    outsider: User

    def member(self, subject: str) -> User:
        """Return the member of the committee that ``subject`` is routed to."""
        return self.members[COMMITTEE_OF[Subject(subject)]]

    def of_level(self, level: int, subject: str = Subject.REGISTRY) -> User:
        """Return the handler of ``level`` for a complaint about ``subject``."""
        return {
            Level.SUPPORT: self.support,
            Level.EXECUTIVE_DIRECTOR: self.director,
            Level.COMMITTEE: self.member(subject),
            Level.BOARD: self.board,
        }[Level(level)]


def make_member(session: Session, committee_id: int, *, email: str, name: str) -> User:
    """Return a committee member sitting on ``committee_id``."""
    member = make_user(session, email=email, name=name, roles=[Role.COMMITTEE_MEMBER])
    session.add(CommitteeMember(committee_id=committee_id, user_id=member.id))
    session.flush()
    return member


def make_handlers(session: Session) -> Handlers:
    """Create one handler per level (one member per committee) and an outsider."""
    return Handlers(
        support=make_user(
            session, email="support@registry.example", name="Sam Support", roles=[Role.SUPPORT]
        ),
        director=make_user(
            session,
            email="director@registry.example",
            name="Dana Director",
            roles=[Role.EXECUTIVE_DIRECTOR],
        ),
        members={
            committee_id: make_member(
                session,
                committee_id,
                email=f"member{committee_id}@registry.example",
                name=f"Morgan Member {committee_id}",
            )
            for committee_id in (CONDUCT_COMMITTEE, APPRAISAL_COMMITTEE, GOVERNANCE_TASKFORCE)
        },
        board=make_user(
            session, email="board@registry.example", name="Blair Board", roles=[Role.BOARD_MEMBER]
        ),
        outsider=make_user(
            session,
            email="admin@registry.example",
            name="Ada Administrator",
            roles=[Role.ADMINISTRATOR],
        ),
    )


def certified_mediator(session: Session, *, name: str = "Zoë Müller") -> Mediator:
    """Return a mediator certified on 1 January 2024 and paid up."""
    if session.get(FeeRate, 2024) is None:
        set_fees(session)
    mediator = make_mediator(session, name=name)
    grant(session, mediator, on=date(2024, 1, 1))
    return mediator


def file(
    session: Session,
    subject: str = Subject.REGISTRY,
    *,
    anonymous: bool = False,
    name: str = "Casey Complainant",
    email: str = "casey@example.org",
    description: str = DESCRIPTION,
    mediator: Mediator | None = None,
    **kwargs: object,
) -> services.Filed:
    """File a complaint (named by default; about a new certified mediator for "mediator")."""
    if subject == Subject.MEDIATOR and mediator is None:
        mediator = certified_mediator(session)
    return services.file_complaint(
        session,
        subject=subject,
        description=description,
        is_anonymous=anonymous,
        name=None if anonymous else name,
        email=None if anonymous else email,
        mediator=mediator,
        now=utcnow(),
        **kwargs,  # type: ignore[arg-type]
    )


def escalate_to(
    session: Session, complaint: Complaint, level: int, handlers: Handlers
) -> Complaint:
    """Escalate ``complaint`` level by level (each by its handler) until it is at ``level``."""
    while complaint.level < level:
        services.escalate_complaint(
            session,
            complaint,
            reason="Needs the next level.",
            actor=handlers.of_level(complaint.level, complaint.subject),
            now=utcnow(),
        )
    return complaint


def at_level(
    session: Session,
    handlers: Handlers,
    level: int,
    status: str = Status.OPEN,
    subject: str = Subject.REGISTRY,
    **kwargs: object,
) -> Complaint:
    """Return a complaint at ``level`` in ``status`` (open, acknowledged or responded)."""
    complaint = file(session, subject, **kwargs).complaint
    escalate_to(session, complaint, level, handlers)
    actor = handlers.of_level(level, subject)
    if status == Status.ACKNOWLEDGED:
        services.acknowledge_complaint(session, complaint, actor=actor, now=utcnow())
    elif status == Status.RESPONDED:
        services.respond_to_complaint(
            session, complaint, body="Here is our answer.", actor=actor, now=utcnow()
        )
    return complaint
