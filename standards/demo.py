"""Demo standards: QAP revised to version 2 through a public consultation, a second standard in
consultation now, the appraisers' code of conduct (COC) revised after a consultation whose
comments wait for their answers, and a proposal waiting for the Board.

Loaded by ``mediator-registry demo`` through the registry's ``demo_loaders`` hook. Every step
goes through the services with past dates; the public's comments are inserted as rows (the
commenting pages have their own services, with e-mail confirmation).
"""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.accounts.services import find_user
from registry.organisations.models import Program
from standards import queries, services
from standards.models import (
    Consultation,
    ConsultationComment,
    FoundingKind,
    StandardKind,
    StandardVersion,
    Verdict,
)

DOMAIN = "demo.registry.example"
# The demo staff (registry/demo.py) who set standards: Beatriz Board decides; Chen Chair chairs
# the QAP taskforce, Tomasz Taskforce the ODRETHICS one, Kofi Committee the COC one.
PEOPLE = ("board", "chair", "committee", "taskforce", "mediator", "applicant", "director")

QAP_EDITS = {
    "QAP-2": "Candidates show the required mediation experience with evidence the program has"
    " checked: at least 20 mediations, 60 hours as mediator, or an equivalent the program"
    " publishes",
    "QAP-6": "Assessment files are kept for audit for at least five years, securely and with"
    " access limited to the program's assessors and the registry's appraisers",
}
QAP_NEW_RULE = (
    "Candidates with a disability can ask for reasonable adjustments to the assessment, and the"
    " program publishes how to ask"
)
QAP_SUMMARY = (
    "After public consultation: the experience a candidate shows is checked and its minimum"
    " published (QAP-2); assessment files are kept securely (QAP-6); candidates may ask for"
    " reasonable adjustments (new rule QAP-8)."
)
# (rule code or None, body, who: "account" / "email" / "anonymous", hidden reason or None)
QAP_COMMENTS = [
    (
        "QAP-2",
        "Twenty mediations is a sensible minimum, but say whether co-mediations count.",
        "account",
        None,
    ),
    (
        "QAP-2",
        "Programs should check the evidence themselves; self-declared hours are not enough.",
        "email",
        None,
    ),
    (
        None,
        "Nothing in the draft protects candidates who need adjustments to the assessment.",
        "anonymous",
        None,
    ),
    ("QAP-6", "Five years is too short. Keep them ten years.", "anonymous", None),
    (
        None,
        "Visit my website for cheap certification!!!",
        "anonymous",
        "Advertising, unrelated to the draft.",
    ),
]
QAP_ANSWERS = [
    (
        [0, 1],
        Verdict.PARTLY,
        "The program now checks the evidence (QAP-2). Whether co-mediations count is left to"
        " each program to publish: practice differs too much for one rule.",
    ),
    (
        [2],
        Verdict.ACCEPTED,
        "Added as QAP-8: candidates may ask for reasonable adjustments.",
    ),
    (
        [3],
        Verdict.NOT_ACCEPTED,
        "Five years covers two audit cycles; keeping personal data longer is hard to justify.",
    ),
]

ODR_RULES = [
    "The mediator tells the parties which platform is used, where it keeps their data and who"
    " can see it",
    "The mediator checks that each party can use the platform, and offers another way if not",
    "Private sessions are held in separate rooms of the platform that the other party cannot"
    " enter or record",
    "The mediator stops the session if they believe someone else is present unannounced",
]
ODR_COMMENTS = [
    (
        "ODRETHICS-3",
        "Say what happens when a party records the session on their own device.",
        "account",
    ),
    (None, "Please cover mediations held by telephone as well as by video.", "anonymous"),
]

# Written for the code of conduct's current wording (migration 0019): COC-2 avoids conflicts of
# interest, COC-4 refuses gifts.
COC_EDIT = (
    "COC-2",
    "Avoids any conflict of interest throughout the appraisal, and tells the subcommittee's chair"
    " the same day if one arises",
)
COC_COMMENTS = [
    ("COC-2", "The same day is not always possible; say within two working days.", "account"),
    (
        "COC-4",
        "Say whether a lunch offered during a site visit counts as a gift.",
        "email",
    ),
    (None, "Appraisers should also declare if they compete with the organisation.", "anonymous"),
]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def load_standards_demo(session: Session, *, today: date, now: datetime) -> None:
    """Revise QAP to version 2, consult on ODRETHICS now, and leave a proposal pending."""
    people = {local: find_user(session, f"{local}@{DOMAIN}") for local in PEOPLE}
    _date_first_versions(session, today)
    _revise_qap(session, people, today)
    _consult_on_odr_ethics(session, people, today)
    _revise_code_of_conduct(session, people, today)
    services.propose_standard(
        session,
        title="Peer mediation in schools",
        purpose="Set what a school's peer mediation program must offer before the registry"
        " lists it, so that parents and teachers can rely on it.",
        scope="Programs that train pupils as peer mediators in primary and secondary schools.",
        actor=people["applicant"],
        now=_at(today - timedelta(days=3)),
    )


def _date_first_versions(session: Session, today: date) -> None:
    """Date the first versions from the demo register's oldest program, as the migration does
    (or a year back, without programs).

    Migration 0019 puts them in force from the earliest day the data knows; the demo loads
    its programs after the migration ran on an empty database. A direct UPDATE: the ORM guard
    refuses any change to a published version, and this is the only correction it ever needs.
    """
    oldest_program = session.scalar(select(func.min(Program.recognised_on)))
    # A year back at least, so that QAP's version 2 (published months ago) comes after it.
    earliest = min(oldest_program or today, today - timedelta(days=365))
    session.execute(
        update(StandardVersion)
        .where(StandardVersion.number == 1, StandardVersion.approved_by_id.is_(None))
        .values(published_on=earliest, published_at=_at(earliest), created_at=_at(earliest))
    )
    session.expire_all()


def _comment(
    consultation: Consultation, rule_code: str | None, body: str, who: str, author: User, day: date
) -> ConsultationComment:
    comment = ConsultationComment(
        consultation_id=consultation.id, rule_code=rule_code, body=body, created_at=_at(day)
    )
    if who == "account":
        comment.author_id = author.id
    elif who == "email":
        comment.author_name, comment.author_email = "Noor Haddad", "noor.haddad@example.org"
        comment.confirmed_at = _at(day, 11)
    else:
        comment.is_anonymous = True
    return comment


def _revise_qap(session: Session, people: dict[str, User], today: date) -> None:
    board, chair = people["board"], people["chair"]
    qap = queries.standard_by_code(session, "QAP")
    start = today - timedelta(days=200)
    for user, is_chair in ((chair, True), (people["committee"], False)):
        services.appoint_member(
            session,
            qap,
            user,
            is_chair=is_chair,
            term_starts_on=start,
            term_ends_on=date(start.year + 3, 12, 31),
            today=start,
            now=_at(start),
            actor=board,
        )
    version = services.start_revision(session, qap, actor=board, now=_at(start, 11))
    # Consulted on the draft as first written (version 1's wording); the taskforce revises it
    # after the consultation closes, so that the report shows what was consulted on and the
    # published version's "What changed" shows the revisions.
    opened = start + timedelta(days=30)
    consultation = services.open_consultation(
        session,
        version,
        closes_on=opened + timedelta(days=30),
        today=opened,
        now=_at(opened),
        actor=chair,
    )
    comments = []
    for index, (rule_code, body, who, hidden) in enumerate(QAP_COMMENTS):
        day = opened + timedelta(days=2 + 4 * index)
        comment = _comment(consultation, rule_code, body, who, people["mediator"], day)
        if hidden:
            comment.hidden_at, comment.hidden_reason = _at(day, 15), hidden
            comment.hidden_by_id = people["director"].id
        session.add(comment)
        comments.append(comment)
    session.flush()
    closed = consultation.closes_on + timedelta(days=1)
    services.close_consultation(session, consultation, today=closed, now=_at(closed, 2))
    day = closed + timedelta(days=5)
    clock = {"today": day, "now": _at(day), "actor": chair}
    for indexes, verdict, body in QAP_ANSWERS:
        services.answer_comments(
            session,
            consultation,
            [comments[i] for i in indexes],
            verdict=verdict,
            body=body,
            **clock,
        )
    for rule in version.rules:
        if rule.code in QAP_EDITS:
            services.edit_rule(session, rule, body=QAP_EDITS[rule.code], **clock)
    services.add_rule(session, version, body=QAP_NEW_RULE, **clock)
    services.save_change_summary(session, version, summary=QAP_SUMMARY, **clock)
    day += timedelta(days=5)
    services.propose_publication(session, version, today=day, now=_at(day), actor=chair)
    day += timedelta(days=5)
    services.approve_publication(session, version, today=day, now=_at(day), actor=board)
    day += timedelta(days=20)
    services.propose_founding(
        session,
        qap,
        kind=FoundingKind.SPECIALISATION,
        code="elder",
        name="Elder mediation",
        rationale="Programs assessing under QAP increasingly train mediators for disputes over"
        " the care of older people; a specialisation would let the public find them.",
        today=day,
        now=_at(day),
        actor=chair,
    )


def _consult_on_odr_ethics(session: Session, people: dict[str, User], today: date) -> None:
    board, chair = people["board"], people["taskforce"]
    proposed = today - timedelta(days=60)
    proposal = services.propose_standard(
        session,
        title="Online mediation ethics",
        purpose="Set the ethical duties of a mediator who mediates online, where the parties'"
        " privacy and their ability to take part depend on the platform.",
        scope="Every registered mediator, in every mediation held by video or on a platform.",
        actor=people["mediator"],
        now=_at(proposed),
    )
    accepted = proposed + timedelta(days=7)
    standard = services.accept_proposal(
        session,
        proposal,
        code="ODRETHICS",
        kind=StandardKind.GUIDANCE,
        program_types=[],
        actor=board,
        now=_at(accepted),
    )
    for user, is_chair in ((chair, True), (people["chair"], False)):
        services.appoint_member(
            session,
            standard,
            user,
            is_chair=is_chair,
            term_starts_on=accepted,
            term_ends_on=date(accepted.year + 2, 12, 31),
            today=accepted,
            now=_at(accepted, 11),
            actor=board,
        )
    version = standard.versions[0]
    day = accepted + timedelta(days=14)
    for body in ODR_RULES:
        services.add_rule(session, version, body=body, today=day, now=_at(day), actor=chair)
    opened = today - timedelta(days=6)
    consultation = services.open_consultation(
        session,
        version,
        closes_on=opened + timedelta(days=28),
        today=opened,
        now=_at(opened),
        actor=chair,
    )
    for index, (rule_code, body, who) in enumerate(ODR_COMMENTS):
        day = opened + timedelta(days=1 + 2 * index)
        session.add(_comment(consultation, rule_code, body, who, people["applicant"], day))
    session.flush()


def _revise_code_of_conduct(session: Session, people: dict[str, User], today: date) -> None:
    """COC version 2 after its consultation: three comments wait for the taskforce's answers."""
    board, chair = people["board"], people["committee"]
    coc = queries.standard_by_code(session, "COC")
    start = today - timedelta(days=70)
    for user, is_chair in ((chair, True), (people["taskforce"], False)):
        services.appoint_member(
            session,
            coc,
            user,
            is_chair=is_chair,
            term_starts_on=start,
            term_ends_on=date(start.year + 2, 12, 31),
            today=start,
            now=_at(start),
            actor=board,
        )
    version = services.start_revision(session, coc, actor=board, now=_at(start, 11))
    code, body = COC_EDIT
    rule = next(rule for rule in version.rules if rule.code == code)
    services.edit_rule(session, rule, body=body, today=start, now=_at(start, 12), actor=chair)
    opened = today - timedelta(days=40)
    consultation = services.open_consultation(
        session,
        version,
        closes_on=opened + timedelta(days=30),
        today=opened,
        now=_at(opened),
        actor=chair,
    )
    for index, (rule_code, body, who) in enumerate(COC_COMMENTS):
        day = opened + timedelta(days=3 + 5 * index)
        session.add(_comment(consultation, rule_code, body, who, people["applicant"], day))
    session.flush()
    closed = consultation.closes_on + timedelta(days=1)
    services.close_consultation(session, consultation, today=closed, now=_at(closed, 2))
