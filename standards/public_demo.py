"""Demo data of the public side of standards: 360 feedback, and comments on consultations.

Loaded by ``mediator-registry demo`` through the ``demo_loaders`` hook, after the demo of
standard setting (which opens and closes the consultations), all through the real services.
Each consultation open today gets comments: named with an account, named by a confirmed e-mail
address, anonymous, and one hidden by the moderator (comments on closed consultations, with
their answers, come with standard setting's demo).
"""

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.services import find_user
from registry.organisations.models import Program
from standards import comments, feedback
from standards.comments import Identity
from standards.models import Consultation, FeedbackSubject
from standards.queries import standard_by_code

DOMAIN = "demo.registry.example"


def load_public_demo(session: Session, *, today: date, now: datetime) -> None:
    """Give 360 feedback on a standard, a program and an initiative; comment on consultations."""
    _feedback(session, today=today, now=now)
    for consultation in session.scalars(select(Consultation).order_by(Consultation.id)):
        if consultation.is_open_on(today):
            _comment(session, consultation, today=today, now=now)


def _person(session: Session, local: str):  # type: ignore[no-untyped-def]
    return find_user(session, f"{local}@{DOMAIN}")


def _feedback(session: Session, *, today: date, now: datetime) -> None:
    standard = standard_by_code(session, "QAP")
    program = session.scalars(select(Program).order_by(Program.id)).first()
    feedback.give_feedback(
        session,
        subject=FeedbackSubject.STANDARD,
        standard=standard,
        body="QAP-4 asks for two assessors on every assessment; small programs cannot afford it.",
        identity=Identity(),
        now=now - timedelta(days=6),
        today=today,
    )
    if program is not None:
        feedback.give_feedback(
            session,
            subject=FeedbackSubject.PROGRAM,
            program=program,
            body="The role-play actors were excellent; the written test felt rushed.",
            identity=Identity(name="Noor Candidate", email=f"noor@{DOMAIN}"),
            now=now - timedelta(days=3),
            today=today,
        )
    initiative = feedback.give_feedback(
        session,
        subject=FeedbackSubject.INITIATIVE,
        initiative="The registry's newsletter",
        body="Please publish the newsletter in Spanish too.",
        identity=Identity(user=_person(session, "mediator")),
        now=now - timedelta(days=10),
        today=today,
    )
    feedback.acknowledge_feedback(
        session,
        initiative,
        message="Thank you: the Board will discuss translations at its next meeting.",
        actor=_person(session, "board"),
        now=now - timedelta(days=8),
        today=today,
    )


# What the public says on a consultation open today: (on a rule?, text) for the first three
# comments, written for the standard consulted on; any other standard gets the general ones.
COMMENT_TEXTS = {
    "ODRETHICS": [
        (True, "Say whether the platform may keep the parties' data abroad, and for how long."),
        (None, "Say whether the mediator may record a session, and who keeps the recording."),
        (None, "Say whether a free platform that reads its users' messages may be used at all."),
    ],
}
GENERAL_TEXTS = [
    (True, "Say how an audit will check this rule, and what evidence it asks for."),
    (None, "The draft reads well; define its terms once, at the start."),
    (None, "Give programs a year to adapt before this version applies."),
]


def _comment(session: Session, consultation: Consultation, *, today: date, now: datetime) -> None:
    codes = comments.rule_codes(consultation)
    written = COMMENT_TEXTS.get(consultation.version.standard.code, GENERAL_TEXTS)
    identities = [
        Identity(user=_person(session, "mediator")),
        Identity(),
        Identity(name="Quentin Trainer", email=f"quentin@{DOMAIN}"),
    ]
    texts = [
        (identity, codes[0] if on_rule and codes else None, body)
        for identity, (on_rule, body) in zip(identities, written, strict=True)
    ]
    texts.append(
        (Identity(), codes[-1] if codes else None, "The chair of this taskforce is a fraud.")
    )
    posted = [
        comments.post_comment(
            session,
            consultation,
            body=body,
            rule_code=rule,
            identity=identity,
            today=today,
            now=now,
        )
        for identity, rule, body in texts
    ]
    comments.confirm_comment(session, posted[2].token or "", today=today, now=now)
    comments.hide_comment(
        session,
        posted[3].comment,
        reason="A personal attack, not a comment on the draft.",
        actor=_person(session, "support"),
        today=today,
        now=now,
    )
