"""The escalation chain as a table: each action at each level and status, allowed or refused.

A refusal raises ``ComplaintError`` and changes nothing: not the complaint, its timeline, the
event log, the outbox nor the mediator's certification. A hypothesis state machine then drives
random actions by random people over one complaint and checks the chain's invariants.
"""

from collections.abc import Callable
from datetime import date
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from complaints import access, services
from complaints.models import (
    ClosedAs,
    Complaint,
    ComplaintEntry,
    ConductOutcome,
    Level,
    Status,
    Subject,
)
from complaints.services import ComplaintError
from registry.accounts.models import User
from registry.database import utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.models import Certification
from registry.mediators.services import revoke_certification
from registry.mediators.status import mediator_standing
from tests.complaint_factories import TODAY, Handlers, at_level, make_handlers
from tests.complaint_factories import file as file_a_complaint

HANDLER_ACTIONS = ("acknowledge", "message", "respond", "resolve", "escalate", "decide")
COMPLAINANT_ACTIONS = ("reply", "request_escalation", "withdraw")
ACTIONS = HANDLER_ACTIONS + COMPLAINANT_ACTIONS
LEVELS = tuple(Level)
COMPLAINANT = "casey@example.org"
STATUSES = (Status.OPEN, Status.ACKNOWLEDGED, Status.RESPONDED, Status.CLOSED)


def allowed(action: str, level: int, status: str) -> bool:
    """The rules, written out once: may the level's handler (or the complainant) do ``action``?"""
    is_open = status != Status.CLOSED
    return {
        "acknowledge": status == Status.OPEN,
        "message": is_open,
        "respond": status in (Status.OPEN, Status.ACKNOWLEDGED),
        "resolve": is_open and level < Level.BOARD,
        "escalate": is_open and level < Level.BOARD,
        "decide": is_open and level == Level.BOARD,
        "reply": is_open,
        "request_escalation": status == Status.RESPONDED and level < Level.BOARD,
        "withdraw": is_open,
    }[action]


def perform(
    session,
    complaint: Complaint,
    action: str,
    actor: User,
    *,
    conduct_outcome: str | None = None,
    public_reason: str | None = None,
) -> None:
    """Do ``action`` on ``complaint`` as ``actor`` (complainant actions need no actor)."""
    now = utcnow()
    calls: dict[str, Callable[[], None]] = {
        "acknowledge": lambda: services.acknowledge_complaint(
            session, complaint, actor=actor, now=now
        ),
        "message": lambda: services.send_message(
            session, complaint, body="A question for you.", actor=actor, now=now
        ),
        "respond": lambda: services.respond_to_complaint(
            session, complaint, body="Our answer.", actor=actor, now=now
        ),
        "resolve": lambda: services.resolve_complaint(
            session,
            complaint,
            outcome="Resolved with an apology.",
            actor=actor,
            now=now,
            today=TODAY,
            conduct_outcome=conduct_outcome,
            public_reason=public_reason,
        ),
        "escalate": lambda: services.escalate_complaint(
            session, complaint, reason="Beyond this level.", actor=actor, now=now
        ),
        "decide": lambda: services.decide_complaint(
            session,
            complaint,
            decision="The Board upholds the complaint.",
            actor=actor,
            now=now,
            today=TODAY,
            conduct_outcome=conduct_outcome,
            public_reason=public_reason,
        ),
        "reply": lambda: services.reply_to_complaint(
            session, complaint, body="More details.", now=now
        ),
        "request_escalation": lambda: services.request_escalation(
            session, complaint, reason="The answer does not address my complaint.", now=now
        ),
        "withdraw": lambda: services.withdraw_complaint(session, complaint, now=now),
    }
    calls[action]()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def mails_to(session, address: str) -> int:
    return session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.to_address == address)
    )


def snapshot(session, complaint: Complaint) -> tuple:
    """What a refusal must leave as it was, read from the database."""
    counts = tuple(count(session, model) for model in (ComplaintEntry, Event, OutboxMessage))
    session.expire_all()
    row = session.get(Complaint, complaint.id)
    certifications = tuple(
        (c.suspended_on, c.suspension_lifted_on, c.revoked_on)
        for c in session.scalars(select(Certification).order_by(Certification.id))
    )
    return (
        row.level,
        row.status,
        row.committee_id,
        row.acknowledged_at,
        row.responded_at,
        row.closed_as,
        row.outcome,
        row.conduct_outcome,
        *counts,
        certifications,
    )


def in_state(session, handlers: Handlers, level: int, status: str, subject=Subject.REGISTRY):
    """Return a complaint at ``level`` in ``status`` (closed: withdrawn at that level)."""
    complaint = at_level(
        session,
        handlers,
        level,
        Status.RESPONDED if status == Status.CLOSED else status,
        subject=subject,
    )
    if status == Status.CLOSED:
        services.withdraw_complaint(session, complaint, now=utcnow())
    return complaint


@pytest.fixture
def handlers(session, ctx) -> Handlers:
    return make_handlers(session)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("level", LEVELS)
def test_chain_table(session, handlers, level, status, action):
    complaint = in_state(session, handlers, level, status)
    actor = handlers.of_level(level)
    before, before_mails = snapshot(session, complaint), mails_to(session, COMPLAINANT)
    if allowed(action, level, status):
        perform(session, complaint, action, actor)
        assert snapshot(session, complaint) != before
        told = mails_to(session, COMPLAINANT) > before_mails
        assert told == (action != "reply")  # a reply is told to the handlers instead
    else:
        with pytest.raises(ComplaintError):
            perform(session, complaint, action, actor)
        assert snapshot(session, complaint) == before


EXPECTED_AFTER = {
    "acknowledge": lambda level: (level, Status.ACKNOWLEDGED, None),
    "respond": lambda level: (level, Status.RESPONDED, None),
    "resolve": lambda level: (level, Status.CLOSED, ClosedAs.RESOLVED),
    "escalate": lambda level: (level + 1, Status.OPEN, None),
    "decide": lambda level: (level, Status.CLOSED, ClosedAs.DECIDED),
    "request_escalation": lambda level: (level + 1, Status.OPEN, None),
    "withdraw": lambda level: (level, Status.CLOSED, ClosedAs.WITHDRAWN),
}


def start_of(action: str) -> Status:
    return Status.RESPONDED if action == "request_escalation" else Status.OPEN


@pytest.mark.parametrize(
    ("level", "action"),
    [
        (level, action)
        for level in LEVELS
        for action in sorted(EXPECTED_AFTER)
        if allowed(action, level, start_of(action))
    ],
)
def test_allowed_actions_land_where_the_rules_say(session, handlers, level, action):
    status = start_of(action)
    complaint = in_state(session, handlers, level, status)
    perform(session, complaint, action, handlers.of_level(level))
    assert (complaint.level, complaint.status, complaint.closed_as) == EXPECTED_AFTER[action](level)


@pytest.mark.parametrize("level", LEVELS)
def test_only_the_current_levels_handlers_act(session, handlers, level):
    complaint = in_state(session, handlers, level, Status.OPEN)
    others = [handlers.of_level(other) for other in LEVELS if other != level]
    # A member of another committee, and an administrator, handle nothing here.
    others += [handlers.member(Subject.PROGRAM), handlers.outsider]
    before = snapshot(session, complaint)
    for actor in others:
        for action in HANDLER_ACTIONS:
            with pytest.raises(ComplaintError):
                perform(session, complaint, action, actor)
    assert snapshot(session, complaint) == before


def test_a_disabled_handler_acts_no_more(session, handlers):
    complaint = in_state(session, handlers, Level.SUPPORT, Status.OPEN)
    handlers.support.disabled_at = utcnow()
    before = snapshot(session, complaint)
    with pytest.raises(ComplaintError):
        perform(session, complaint, "acknowledge", handlers.support)
    assert snapshot(session, complaint) == before


@pytest.mark.parametrize("status", STATUSES[:-1])
def test_the_board_cannot_escalate(session, handlers, status):
    complaint = in_state(session, handlers, Level.BOARD, status)
    before = snapshot(session, complaint)
    with pytest.raises(ComplaintError, match="final"):
        perform(session, complaint, "escalate", handlers.board)
    if status == Status.RESPONDED:
        with pytest.raises(ComplaintError, match="final"):
            perform(session, complaint, "request_escalation", handlers.board)
    assert snapshot(session, complaint) == before


# -- The conduct track --------------------------------------------------------------------

CONDUCT_CASES = [
    # (subject, level, conduct outcome, public reason) -> allowed?
    *[
        (Subject.MEDIATOR, level, "suspend", "Breach of confidentiality.", level >= 3)
        for level in LEVELS
    ],
    *[(Subject.MEDIATOR, level, "revoke", "Repeated misconduct.", level >= 3) for level in LEVELS],
    *[(Subject.MEDIATOR, level, "no_action", None, level >= 3) for level in LEVELS],
    *[(Subject.MEDIATOR, level, None, None, True) for level in LEVELS],
    # Suspension and revocation need a reason, shown publicly.
    (Subject.MEDIATOR, Level.COMMITTEE, "suspend", None, False),
    (Subject.MEDIATOR, Level.BOARD, "revoke", "  ", False),
    (Subject.MEDIATOR, Level.BOARD, "banish", "Unknown outcome.", False),
    # Only complaints about a mediator have a conduct outcome.
    *[(Subject.REGISTRY, level, "suspend", "No mediator.", False) for level in LEVELS],
    (Subject.PROGRAM, Level.COMMITTEE, "no_action", None, False),
]


@pytest.mark.parametrize(("subject", "level", "outcome", "reason", "ok"), CONDUCT_CASES)
def test_conduct_outcomes_table(session, handlers, subject, level, outcome, reason, ok):
    complaint = in_state(session, handlers, level, Status.RESPONDED, subject=subject)
    action = "decide" if level == Level.BOARD else "resolve"
    actor = handlers.of_level(level, subject)
    before = snapshot(session, complaint)
    if not ok:
        with pytest.raises(ComplaintError):
            perform(
                session, complaint, action, actor, conduct_outcome=outcome, public_reason=reason
            )
        assert snapshot(session, complaint) == before
        return
    perform(session, complaint, action, actor, conduct_outcome=outcome, public_reason=reason)
    assert complaint.conduct_outcome == outcome
    status = mediator_standing(session, complaint.mediator, TODAY).status
    assert status == {"suspend": "suspended", "revoke": "revoked"}.get(outcome, "certified")


def test_conduct_levels_have_the_process_names(session, handlers):
    complaint = in_state(session, handlers, Level.SUPPORT, Status.OPEN, subject=Subject.MEDIATOR)
    labels = [complaint.level_label]
    for level in (2, 3, 4):
        perform(session, complaint, "escalate", handlers.of_level(level - 1, Subject.MEDIATOR))
        labels.append(complaint.level_label)
    assert labels == ["Discussion", "Mediation", "Assessment", "Appeal"]
    assert complaint.committee.name == "Professional Conduct Committee"


def test_a_lifecycle_refusal_refuses_the_outcome(session, handlers):
    complaint = in_state(session, handlers, Level.BOARD, Status.OPEN, subject=Subject.MEDIATOR)
    certification = complaint.mediator.current_certification
    revoke_certification(
        session,
        certification,
        on=date(2024, 3, 1),
        reason="Revoked before.",
        today=TODAY,
        now=utcnow(),
        actor=handlers.board,
    )
    before = snapshot(session, complaint)
    with pytest.raises(ComplaintError, match="certification cannot be changed"):
        perform(
            session,
            complaint,
            "decide",
            handlers.board,
            conduct_outcome="suspend",
            public_reason="Again.",
        )
    assert snapshot(session, complaint) == before


# -- Random walks over the chain ----------------------------------------------------------

ACTORS = ("support", "director", "conduct_member", "appraisal_member", "board", "outsider")


# The actions that move a complaint on, drawn more often by the random walks.
CLIMBING = ("escalate", "respond", "request_escalation", "decide")


def people(handlers: Handlers) -> dict[str, User]:
    return {
        "support": handlers.support,
        "director": handlers.director,
        "conduct_member": handlers.member(Subject.MEDIATOR),
        "appraisal_member": handlers.member(Subject.PROGRAM),
        "board": handlers.board,
        "outsider": handlers.outsider,
    }


def handler_name(level: int, subject: str) -> str:
    """Return which of ``ACTORS`` handles ``level`` of a complaint about ``subject``."""
    committee = "conduct_member" if subject == Subject.MEDIATOR else "appraisal_member"
    return ("support", "director", committee, "board")[level - 1]


def test_random_walks_keep_the_chain_rules(session, handlers):
    actors = people(handlers)

    class ChainMachine(RuleBasedStateMachine):
        """One complaint, random actions by random people; the model says what is allowed."""

        def __init__(self) -> None:
            super().__init__()
            self.savepoint = session.begin_nested()
            self.history: list[tuple[int, str]] = []

        @initialize(subject=st.sampled_from([Subject.MEDIATOR, Subject.PROGRAM]))
        def file(self, subject: str) -> None:
            self.filed = file_a_complaint(session, subject)
            self.complaint = self.filed.complaint
            self.level, self.status = 1, Status.OPEN
            self.viewers = {handler_name(1, subject)}
            self.history.append((self.level, self.status))

        @rule(
            # Weighted so that walks often climb to the Board and close there.
            action=st.sampled_from([*ACTIONS, *CLIMBING * 2]),
            who=st.sampled_from(["the handler"] * 4 + list(ACTORS)),
            outcome=st.sampled_from([None, None, ConductOutcome.NO_ACTION, ConductOutcome.SUSPEND]),
        )
        def act(self, action: str, who: str, outcome: str | None) -> None:
            complaint = self.complaint
            if who == "the handler":
                who = handler_name(self.level, complaint.subject)
            is_handler = who == handler_name(self.level, complaint.subject)
            expected = allowed(action, self.level, self.status) and (
                action in COMPLAINANT_ACTIONS or is_handler
            )
            conduct = outcome if action in ("resolve", "decide") else None
            if conduct is not None and (not complaint.is_conduct or self.level < Level.COMMITTEE):
                expected = False
            before = snapshot(session, complaint)
            try:
                perform(
                    session,
                    complaint,
                    action,
                    actors[who],
                    conduct_outcome=conduct,
                    public_reason="Shown on the public profile.",
                )
            except ComplaintError:
                assert not expected, f"{who} could not {action} at {self.history[-1]}"
                assert snapshot(session, complaint) == before
                return
            assert expected, f"{who} could {action} at {self.history[-1]}"
            event(f"{action} at level {self.level}")
            self.level, self.status = complaint.level, complaint.status
            self.viewers.add(handler_name(self.level, complaint.subject))
            self.history.append((self.level, self.status))

        @invariant()
        def levels_only_rise_one_at_a_time(self) -> None:
            levels = [level for level, _ in self.history]
            assert all(0 <= b - a <= 1 for a, b in pairwise(levels))

        @invariant()
        def closed_stays_closed(self) -> None:
            statuses = [status for _, status in self.history]
            if Status.CLOSED in statuses:
                assert statuses[statuses.index(Status.CLOSED) :] == [Status.CLOSED]

        @invariant()
        def only_the_board_decides(self) -> None:
            complaint = getattr(self, "complaint", None)
            if complaint is not None and complaint.closed_as == ClosedAs.DECIDED:
                assert complaint.level == Level.BOARD

        @invariant()
        def the_complainant_and_every_level_reached_read_it(self) -> None:
            if getattr(self, "complaint", None) is None:
                return
            found = services.find_tracked(session, self.filed.receipt_code, self.filed.secret)
            assert found is self.complaint
            for who, person in actors.items():
                assert access.can_view(session, person, self.complaint) == (who in self.viewers)

        def teardown(self) -> None:
            self.savepoint.rollback()
            session.expire_all()

    run_state_machine_as_test(
        ChainMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
