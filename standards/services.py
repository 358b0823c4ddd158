"""Setting standards: proposals, taskforces, drafting, consultations, answers, publication and
founding (steps 1, 2, 3, 5 and 6 of the issue; the public's comments live in ``comments``).

One function per state change. It checks who acts and the starting state (raising
``StandardError``, with nothing changed, otherwise), changes the data, writes the event log and
flushes; the request or the job commits. Everything about one standard is logged with
subject_type "standard" and the standard's id, so its public history reads from the log; a
proposal the Board has not accepted yet is a "standard_proposal".

Who may act: the Board (role board_member) decides; a taskforce's current members draft and
answer comments; its current chair opens consultations and proposes publication and founding.
"""

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.accounts.models import Role, User, UserRole
from registry.events.services import record_event
from registry.formatting import format_day
from registry.mail.services import queue_template_mail
from registry.mediators.models import Specialisation
from registry.organisations.models import ProgramType
from registry.validation import checked_text
from standards import queries
from standards.models import (
    CommentAnswer,
    Consultation,
    ConsultationComment,
    Decision,
    FoundingKind,
    FoundingProposal,
    Standard,
    StandardKind,
    StandardProposal,
    StandardRule,
    StandardVersion,
    TaskforceMember,
    Verdict,
    VersionStatus,
)

MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 10_000
MAX_REASON_LENGTH = 2000
# A standard's code leaves room for "-<n>" in a rule code (String(16)).
STANDARD_CODE = re.compile(r"[A-Z][A-Z0-9]{1,11}")
SPECIALISATION_CODE = re.compile(r"[a-z][a-z0-9_]{1,15}")
PROGRAM_TYPE_CODE = re.compile(r"[A-Z][A-Z0-9]{1,7}")
# A consultation runs at least two weeks (so that people hear of it and can answer) and at
# most six months.
MIN_CONSULTATION_DAYS = 14
MAX_CONSULTATION_DAYS = 183
EDITABLE = (VersionStatus.DRAFTING, VersionStatus.REVISING)


class StandardError(ValueError):
    """A change to a standard that the rules do not allow."""


def text(value: str | None, *, what: str, limit: int = MAX_TEXT_LENGTH, minimum: int = 1) -> str:
    """Return ``value`` trimmed, or raise StandardError if it is empty or too long."""
    return checked_text(value, what=what, limit=limit, error=StandardError, minimum=minimum)


def log(
    session: Session,
    action: str,
    standard: Standard,
    *,
    now: datetime,
    actor: User | None,
    reason: str | None = None,
    **data: object,
) -> None:
    record_event(
        session,
        action=action,
        subject_type="standard",
        subject_id=standard.id,
        now=now,
        actor=actor,
        reason=reason,
        data=data,
    )


# -- Who may act -----------------------------------------------------------------------------


def check_board(actor: User) -> None:
    if not actor.has_role(Role.BOARD_MEMBER):
        raise StandardError(_("Only a Board member can decide this."))


def check_member(session: Session, standard: Standard, actor: User, today: date) -> None:
    if queries.taskforce_standing(session, actor.id, standard.id, today) is None:
        raise StandardError(
            _("Only a current member of the %(code)s taskforce can do this.", code=standard.code)
        )


def check_chair(session: Session, standard: Standard, actor: User, today: date) -> None:
    seat = queries.taskforce_standing(session, actor.id, standard.id, today)
    if seat is None or not seat.is_chair:
        raise StandardError(
            _("Only the chair of the %(code)s taskforce can do this.", code=standard.code)
        )


def board_addresses(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .join(UserRole)
            .where(UserRole.role == Role.BOARD_MEMBER, User.disabled_at.is_(None))
            .order_by(User.email)
        )
    )


# -- Step 1: proposals -----------------------------------------------------------------------


def propose_standard(
    session: Session, *, title: str, purpose: str, scope: str, actor: User, now: datetime
) -> StandardProposal:
    """Record a proposal for a new standard, for the Board to accept or decline."""
    proposal = StandardProposal(
        title=text(title, what=_("The title"), limit=MAX_TITLE_LENGTH),
        purpose=text(purpose, what=_("The purpose")),
        scope=text(scope, what=_("The scope")),
        proposed_by=actor,
        proposed_at=now,
        decision=Decision.PENDING,
    )
    session.add(proposal)
    session.flush()
    record_event(
        session,
        action="standard.proposed",
        subject_type="standard_proposal",
        subject_id=proposal.id,
        now=now,
        actor=actor,
        data={"title": proposal.title},
    )
    return proposal


def _check_pending(proposal: StandardProposal | FoundingProposal) -> None:
    if proposal.decision != Decision.PENDING:
        raise StandardError(
            _("The Board has already decided: %(decision)s.", decision=proposal.decision_label)
        )


def checked_code(session: Session, code: str | None) -> str:
    """Return a new standard's code, upper case, or raise StandardError."""
    code = (code or "").strip().upper()
    if not STANDARD_CODE.fullmatch(code):
        raise StandardError(
            _("A code is 2 to 12 capital letters or digits, starting with a letter (e.g. ODRE).")
        )
    if queries.standard_by_code(session, code) is not None:
        raise StandardError(_("The code %(code)s is taken by another standard.", code=code))
    return code


def checked_program_types(program_types: Sequence[str]) -> str:
    unknown = sorted(set(program_types) - {t.value for t in ProgramType})
    if unknown:
        raise StandardError(_("Unknown program type(s): %(types)s.", types=", ".join(unknown)))
    return " ".join(t.value for t in ProgramType if t.value in program_types)


def accept_proposal(
    session: Session,
    proposal: StandardProposal,
    *,
    code: str,
    kind: str,
    program_types: Sequence[str],
    actor: User,
    now: datetime,
) -> Standard:
    """Accept a proposal: create its standard and version 1, in drafting."""
    check_board(actor)
    _check_pending(proposal)
    if kind not in set(StandardKind):
        raise StandardError(_("Choose a known kind of standard."))
    standard = Standard(
        code=checked_code(session, code),
        title=proposal.title,
        purpose=proposal.purpose,
        scope=proposal.scope,
        kind=kind,
        applies_to=checked_program_types(program_types),
        created_at=now,
    )
    session.add(standard)
    session.add(
        StandardVersion(standard=standard, number=1, status=VersionStatus.DRAFTING, created_at=now)
    )
    session.flush()
    _decide(proposal, Decision.ACCEPTED, now=now, actor=actor)
    proposal.standard = standard
    session.flush()
    log(
        session,
        "standard.proposal_accepted",
        standard,
        now=now,
        actor=actor,
        proposal_id=proposal.id,
        proposed_at=proposal.proposed_at.isoformat(),
        code=standard.code,
    )
    _tell_proposer(session, proposal, now)
    return standard


def _decide(
    proposal: StandardProposal | FoundingProposal,
    decision: Decision,
    *,
    now: datetime,
    actor: User,
    reason: str = "",
) -> None:
    """Record the Board's decision on a proposal; declining needs a reason."""
    if decision == Decision.DECLINED:
        reason = text(reason, what=_("The reason"), limit=MAX_REASON_LENGTH)
    proposal.decision, proposal.decided_at, proposal.decision_reason = decision, now, reason
    proposal.decided_by_id = actor.id


def decline_proposal(
    session: Session, proposal: StandardProposal, *, reason: str, actor: User, now: datetime
) -> None:
    """Decline a proposal with the Board's reason."""
    check_board(actor)
    _check_pending(proposal)
    _decide(proposal, Decision.DECLINED, now=now, actor=actor, reason=reason)
    session.flush()
    record_event(
        session,
        action="standard.proposal_declined",
        subject_type="standard_proposal",
        subject_id=proposal.id,
        now=now,
        actor=actor,
        reason=proposal.decision_reason,
    )
    _tell_proposer(session, proposal, now)


def _tell_proposer(session: Session, proposal: StandardProposal, now: datetime) -> None:
    queue_template_mail(
        session,
        "standard_proposal_decided.txt",
        to=[proposal.proposed_by.email],
        now=now,
        proposal=proposal,
    )


# -- Revisions -------------------------------------------------------------------------------


def start_revision(
    session: Session, standard: Standard, *, actor: User, now: datetime
) -> StandardVersion:
    """Open the next version of a published standard, its rules copied from the latest."""
    check_board(actor)
    if queries.version_in_making(session, standard.id) is not None:
        raise StandardError(_("%(code)s already has a version in the making.", code=standard.code))
    published = queries.published_versions(session, standard.id)
    if not published:
        raise StandardError(_("%(code)s has no published version to revise.", code=standard.code))
    latest = published[-1]
    version = StandardVersion(
        standard=standard, number=latest.number + 1, status=VersionStatus.DRAFTING, created_at=now
    )
    version.rules = [
        StandardRule(code=rule.code, position=rule.position, body=rule.body)
        for rule in latest.rules
    ]
    session.add(version)
    session.flush()
    log(
        session, "standard.revision_started", standard, now=now, actor=actor, version=version.number
    )
    return version


# -- Step 2: the taskforce -------------------------------------------------------------------


def appoint_member(
    session: Session,
    standard: Standard,
    user: User,
    *,
    is_chair: bool,
    term_starts_on: date,
    term_ends_on: date,
    today: date,
    now: datetime,
    actor: User,
) -> TaskforceMember:
    """Appoint a committee member to the standard's taskforce (as its chair, if ``is_chair``)."""
    check_board(actor)
    if not user.has_role(Role.COMMITTEE_MEMBER):
        raise StandardError(
            _(
                "%(name)s is not a committee member; only committee members sit on a taskforce.",
                name=user.name,
            )
        )
    if term_ends_on < term_starts_on:
        raise StandardError(_("The term cannot end before it starts."))
    if term_ends_on < today:
        raise StandardError(_("The term would be over already."))
    if _current_seat(session, standard, user) is not None:
        raise StandardError(_("%(name)s is already on this taskforce.", name=user.name))
    if is_chair and _current_chair(session, standard) is not None:
        raise StandardError(
            _(
                "The taskforce has a chair already: name the new chair from the members,"
                " or end the chair's membership first."
            )
        )
    member = TaskforceMember(
        standard_id=standard.id,
        user=user,
        is_chair=is_chair,
        term_starts_on=term_starts_on,
        term_ends_on=term_ends_on,
        appointed_at=now,
        appointed_by_id=actor.id,
    )
    session.add(member)
    session.flush()
    log(
        session,
        "taskforce.member_appointed",
        standard,
        now=now,
        actor=actor,
        user_id=user.id,
        name=user.name,
        is_chair=is_chair,
        term_starts_on=term_starts_on.isoformat(),
        term_ends_on=term_ends_on.isoformat(),
    )
    queue_template_mail(
        session,
        "taskforce_appointed.txt",
        to=[user.email],
        now=now,
        member=member,
        standard=standard,
    )
    return member


def _current_seat(session: Session, standard: Standard, user: User) -> TaskforceMember | None:
    return session.scalar(
        select(TaskforceMember).where(
            TaskforceMember.standard_id == standard.id,
            TaskforceMember.user_id == user.id,
            TaskforceMember.ended_at.is_(None),
        )
    )


def _current_chair(session: Session, standard: Standard) -> TaskforceMember | None:
    return session.scalar(
        select(TaskforceMember).where(
            TaskforceMember.standard_id == standard.id,
            TaskforceMember.is_chair,
            TaskforceMember.ended_at.is_(None),
        )
    )


def name_chair(session: Session, member: TaskforceMember, *, now: datetime, actor: User) -> None:
    """Make a current member the taskforce's chair; the previous chair stays a member."""
    check_board(actor)
    if member.ended_at is not None:
        raise StandardError(_("This membership has ended."))
    if member.is_chair:
        raise StandardError(_("%(name)s already chairs this taskforce.", name=member.user.name))
    standard = session.get(Standard, member.standard_id)
    previous = _current_chair(session, standard)
    if previous is not None:
        previous.is_chair = False
        session.flush()
    member.is_chair = True
    session.flush()
    log(
        session,
        "taskforce.chair_named",
        standard,
        now=now,
        actor=actor,
        user_id=member.user_id,
        name=member.user.name,
        previous_user_id=previous.user_id if previous else None,
    )


def end_membership(
    session: Session, member: TaskforceMember, *, reason: str, now: datetime, actor: User
) -> None:
    """End a taskforce membership (the row stays, for the public record)."""
    check_board(actor)
    if member.ended_at is not None:
        raise StandardError(_("This membership has ended already."))
    member.ended_at = now
    session.flush()
    log(
        session,
        "taskforce.membership_ended",
        session.get(Standard, member.standard_id),
        now=now,
        actor=actor,
        reason=text(reason, what=_("The reason"), limit=MAX_REASON_LENGTH, minimum=0) or None,
        user_id=member.user_id,
        name=member.user.name,
        was_chair=member.is_chair,
    )


# -- Step 3: drafting ------------------------------------------------------------------------


def check_editable(version: StandardVersion) -> None:
    """Raise StandardError unless the version's rules may be edited now."""
    if version.status == VersionStatus.PUBLISHED:
        raise StandardError(
            _("%(label)s is published: a published version never changes.", label=version.label)
        )
    if version.status == VersionStatus.CONSULTATION:
        raise StandardError(_("The draft cannot change while its consultation is open."))
    if version.status == VersionStatus.PROPOSED:
        raise StandardError(_("The draft is with the Board for publication and cannot change."))


def _saved(
    session: Session,
    version: StandardVersion,
    change: str,
    *,
    now: datetime,
    actor: User,
    **data: object,
) -> None:
    version.draft_revision += 1
    session.flush()
    log(
        session,
        "standard.draft_saved",
        version.standard,
        now=now,
        actor=actor,
        version=version.number,
        revision=version.draft_revision,
        change=change,
        **data,
    )


def _check_drafter(session: Session, version: StandardVersion, actor: User, today: date) -> None:
    check_editable(version)
    check_member(session, version.standard, actor, today)


def next_rule_code(session: Session, version: StandardVersion) -> str:
    """Return the next free code "<STANDARD>-<n>": above every code the standard ever used.

    That is every rule of every version and every rule consulted on, so a code once published
    (or shown to the public) never comes back for a different rule.
    """
    standard = version.standard
    pattern = re.compile(rf"{re.escape(standard.code)}-(\d+)")
    codes = set(
        session.scalars(
            select(StandardRule.code)
            .join(StandardVersion)
            .where(StandardVersion.standard_id == standard.id)
        )
    )
    codes.update(rule.code for rule in version.rules)
    for snapshot in session.scalars(
        select(Consultation.rules)
        .join(StandardVersion)
        .where(StandardVersion.standard_id == standard.id)
    ):
        codes.update(rule["code"] for rule in snapshot)
    numbers = [int(match.group(1)) for code in codes if (match := pattern.fullmatch(code))]
    return f"{standard.code}-{max(numbers, default=0) + 1}"


def add_rule(
    session: Session,
    version: StandardVersion,
    *,
    body: str,
    today: date,
    now: datetime,
    actor: User,
) -> StandardRule:
    """Add a rule at the end of the draft, with the next free code."""
    _check_drafter(session, version, actor, today)
    rule = StandardRule(
        code=next_rule_code(session, version),
        position=max((rule.position for rule in version.rules), default=0) + 1,
        body=text(body, what=_("The rule")),
    )
    version.rules.append(rule)
    _saved(session, version, "rule_added", now=now, actor=actor, rule=rule.code)
    return rule


def edit_rule(
    session: Session, rule: StandardRule, *, body: str, today: date, now: datetime, actor: User
) -> None:
    """Change a draft rule's text; it keeps its code."""
    version = rule.version
    _check_drafter(session, version, actor, today)
    body = text(body, what=_("The rule"))
    if body == rule.body:
        return
    rule.body = body
    _saved(session, version, "rule_edited", now=now, actor=actor, rule=rule.code)


def move_rule(
    session: Session, rule: StandardRule, *, up: bool, today: date, now: datetime, actor: User
) -> None:
    """Move a draft rule one place up or down."""
    version = rule.version
    _check_drafter(session, version, actor, today)
    rules = list(version.rules)
    index = rules.index(rule)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(rules):
        raise StandardError(_("%(code)s cannot move further.", code=rule.code))
    rules[index], rules[other] = rules[other], rules[index]
    _renumber(session, version, rules)
    _saved(session, version, "rule_moved", now=now, actor=actor, rule=rule.code)


def _renumber(session: Session, version: StandardVersion, rules: list[StandardRule]) -> None:
    for position, each in enumerate(rules, start=1):
        each.position = position
    session.flush()
    version.rules = sorted(rules, key=lambda each: each.position)


def remove_rule(
    session: Session, rule: StandardRule, *, today: date, now: datetime, actor: User
) -> None:
    """Take a rule out of the draft (its code is not given to another rule)."""
    version = rule.version
    _check_drafter(session, version, actor, today)
    code = rule.code
    rules = [each for each in version.rules if each is not rule]
    version.rules.remove(rule)
    session.flush()
    _renumber(session, version, rules)
    _saved(session, version, "rule_removed", now=now, actor=actor, rule=code)


def save_change_summary(
    session: Session,
    version: StandardVersion,
    *,
    summary: str,
    today: date,
    now: datetime,
    actor: User,
) -> None:
    """Save the draft's "what changed" summary."""
    _check_drafter(session, version, actor, today)
    summary = text(summary, what=_("The summary"), minimum=0)
    if summary == version.change_summary:
        return
    version.change_summary = summary
    _saved(session, version, "summary_edited", now=now, actor=actor)


# -- Step 4 (the Taskforce's side): consultations --------------------------------------------


def open_consultation(
    session: Session,
    version: StandardVersion,
    *,
    closes_on: date,
    today: date,
    now: datetime,
    actor: User,
) -> Consultation:
    """Publish the draft for comment until ``closes_on`` (the chair only)."""
    check_chair(session, version.standard, actor, today)
    check_editable(version)
    if not version.rules:
        raise StandardError(_("Write at least one rule before consulting on the draft."))
    if closes_on < today + timedelta(days=MIN_CONSULTATION_DAYS):
        raise StandardError(
            _(
                "A consultation runs at least %(days)s days: close it on %(day)s or later.",
                days=MIN_CONSULTATION_DAYS,
                day=format_day(today + timedelta(days=MIN_CONSULTATION_DAYS)),
            )
        )
    if closes_on > today + timedelta(days=MAX_CONSULTATION_DAYS):
        raise StandardError(
            _("A consultation runs at most %(days)s days.", days=MAX_CONSULTATION_DAYS)
        )
    rounds = session.scalar(
        select(func.count()).select_from(Consultation).where(Consultation.version_id == version.id)
    )
    consultation = Consultation(
        version_id=version.id,
        round=rounds + 1,
        rules=[{"code": rule.code, "body": rule.body} for rule in version.rules],
        draft_revision=version.draft_revision,
        opened_on=today,
        closes_on=closes_on,
        opened_at=now,
        opened_by_id=actor.id,
    )
    session.add(consultation)
    version.status = VersionStatus.CONSULTATION
    session.flush()
    log(
        session,
        "standard.consultation_opened",
        version.standard,
        now=now,
        actor=actor,
        version=version.number,
        round=consultation.round,
        consultation_id=consultation.id,
        closes_on=closes_on.isoformat(),
        draft_revision=version.draft_revision,
    )
    return consultation


def close_consultation(
    session: Session,
    consultation: Consultation,
    *,
    today: date,
    now: datetime,
    actor: User | None = None,
) -> None:
    """Close a consultation once its closing date has passed (the chair, or the daily job).

    ``closes_on`` is the last day comments are taken, so it closes the day after at the
    earliest. The version goes on to revising.
    """
    version = consultation.version
    if actor is not None:
        check_chair(session, version.standard, actor, today)
    if consultation.closed_at is not None:
        raise StandardError(_("This consultation is closed already."))
    if today <= consultation.closes_on:
        raise StandardError(
            _(
                "The consultation takes comments until %(day)s; it closes after that day.",
                day=format_day(consultation.closes_on),
            )
        )
    consultation.closed_at = now
    version.status = VersionStatus.REVISING
    session.flush()
    log(
        session,
        "standard.consultation_closed",
        version.standard,
        now=now,
        actor=actor,
        version=version.number,
        round=consultation.round,
        consultation_id=consultation.id,
        comments=sum(1 for comment in consultation.comments if comment.is_shown),
    )


# -- Step 5: answers, publication ------------------------------------------------------------


def answer_comments(
    session: Session,
    consultation: Consultation,
    comments: Sequence[ConsultationComment],
    *,
    verdict: str,
    body: str,
    today: date,
    now: datetime,
    actor: User,
) -> CommentAnswer:
    """Answer a group of comments of a closed consultation with one verdict and why."""
    version = consultation.version
    check_member(session, version.standard, actor, today)
    if consultation.closed_at is None:
        raise StandardError(_("Comments are answered once the consultation has closed."))
    check_editable(version)
    if not comments:
        raise StandardError(_("Choose the comments this answer is for."))
    if verdict not in set(Verdict):
        raise StandardError(_("Choose a verdict."))
    for comment in comments:
        if comment.consultation_id != consultation.id:
            raise StandardError(_("Comment %(id)s is not of this consultation.", id=comment.id))
        if not comment.is_shown:
            raise StandardError(
                _("Comment %(id)s is not shown and needs no answer.", id=comment.id)
            )
        if comment.answer_id is not None:
            raise StandardError(_("Comment %(id)s is answered already.", id=comment.id))
    answer = CommentAnswer(
        consultation_id=consultation.id,
        verdict=verdict,
        body=text(body, what=_("The answer")),
        answered_at=now,
        answered_by_id=actor.id,
    )
    session.add(answer)
    session.flush()
    for comment in comments:
        comment.answer_id = answer.id
    session.flush()
    log(
        session,
        "standard.comment_answered",
        version.standard,
        now=now,
        actor=actor,
        version=version.number,
        round=consultation.round,
        consultation_id=consultation.id,
        answer_id=answer.id,
        comment_ids=[comment.id for comment in comments],
        verdict=verdict,
    )
    return answer


def propose_publication(
    session: Session, version: StandardVersion, *, today: date, now: datetime, actor: User
) -> None:
    """Ask the Board to publish the version (the chair, once every comment is answered)."""
    check_chair(session, version.standard, actor, today)
    if version.status != VersionStatus.REVISING:
        raise StandardError(
            _("Only a version revised after its consultation can be proposed for publication.")
        )
    waiting = queries.unanswered_comments(session, version.id)
    if waiting:
        raise StandardError(
            ngettext(
                "%(num)d comment still waits for an answer.",
                "%(num)d comments still wait for an answer.",
                len(waiting),
            )
        )
    if version.number > 1 and not version.change_summary.strip():
        raise StandardError(_("Say what changed from the previous version before proposing it."))
    version.status = VersionStatus.PROPOSED
    session.flush()
    log(
        session,
        "standard.publication_proposed",
        version.standard,
        now=now,
        actor=actor,
        version=version.number,
        draft_revision=version.draft_revision,
    )
    addresses = board_addresses(session)
    if addresses:
        queue_template_mail(
            session, "standard_publication_proposed.txt", to=addresses, now=now, version=version
        )


def _check_proposed(version: StandardVersion) -> None:
    if version.status != VersionStatus.PROPOSED:
        raise StandardError(_("%(label)s is not proposed for publication.", label=version.label))


def approve_publication(
    session: Session, version: StandardVersion, *, today: date, now: datetime, actor: User
) -> None:
    """Publish the proposed version: in force from today, immutable from now on. The
    taskforce's current members are told by e-mail."""
    check_board(actor)
    _check_proposed(version)
    version.status = VersionStatus.PUBLISHED
    version.published_on, version.published_at, version.approved_by = today, now, actor
    session.flush()
    log(
        session,
        "standard.version_published",
        version.standard,
        now=now,
        actor=actor,
        version=version.number,
        published_on=today.isoformat(),
    )
    # The taskforce that wrote it hears of it, each member in their own language.
    members = queries.current_taskforce(session, version.standard_id, today)
    if members:
        queue_template_mail(
            session,
            "standard_version_published.txt",
            to=[member.user.email for member in members],
            now=now,
            version=version,
        )


def decline_publication(
    session: Session, version: StandardVersion, *, reason: str, now: datetime, actor: User
) -> None:
    """Send the proposed version back to the taskforce, with the Board's reason."""
    check_board(actor)
    _check_proposed(version)
    reason = text(reason, what=_("The reason"), limit=MAX_REASON_LENGTH)
    version.status = VersionStatus.REVISING
    session.flush()
    log(
        session,
        "standard.publication_declined",
        version.standard,
        now=now,
        actor=actor,
        reason=reason,
        version=version.number,
    )


# -- Step 6: founding ------------------------------------------------------------------------


def _check_founding_code(session: Session, kind: str, code: str, name: str) -> None:
    if kind == FoundingKind.SPECIALISATION:
        if not SPECIALISATION_CODE.fullmatch(code):
            raise StandardError(
                _(
                    "A specialisation's code is 2 to 16 lower-case letters, digits or underscores"
                    " (e.g. sports)."
                )
            )
        if session.get(Specialisation, code) is not None:
            raise StandardError(_("The specialisation %(code)s exists already.", code=code))
        if session.scalar(select(Specialisation).where(Specialisation.name == name)) is not None:
            raise StandardError(_("A specialisation is called %(name)s already.", name=name))
    else:
        if not PROGRAM_TYPE_CODE.fullmatch(code):
            raise StandardError(
                _("A program type's code is 2 to 8 capital letters or digits (e.g. CCQAP).")
            )
        if code in {t.value for t in ProgramType}:
            raise StandardError(_("The program type %(code)s exists already.", code=code))


def propose_founding(
    session: Session,
    standard: Standard,
    *,
    kind: str,
    code: str,
    name: str,
    rationale: str,
    today: date,
    now: datetime,
    actor: User,
) -> FoundingProposal:
    """Propose that a published standard found a specialisation or program type (the chair)."""
    check_chair(session, standard, actor, today)
    if kind not in set(FoundingKind):
        raise StandardError(_("Choose what the standard would found."))
    if not queries.published_versions(session, standard.id):
        raise StandardError(_("Only a published standard can found something."))
    code = (code or "").strip()
    name = text(name, what=_("The name"), limit=100)
    _check_founding_code(session, kind, code, name)
    pending = session.scalar(
        select(FoundingProposal).where(
            FoundingProposal.kind == kind,
            FoundingProposal.code == code,
            FoundingProposal.decision == Decision.PENDING,
        )
    )
    if pending is not None:
        raise StandardError(_("%(code)s is proposed already and waits for the Board.", code=code))
    proposal = FoundingProposal(
        standard_id=standard.id,
        kind=kind,
        code=code,
        name=name,
        rationale=text(rationale, what=_("The rationale")),
        proposed_by_id=actor.id,
        proposed_at=now,
        decision=Decision.PENDING,
    )
    session.add(proposal)
    session.flush()
    log(
        session,
        "standard.founding_proposed",
        standard,
        now=now,
        actor=actor,
        founding_id=proposal.id,
        kind=kind,
        code=code,
        name=name,
    )
    addresses = board_addresses(session)
    if addresses:
        queue_template_mail(
            session, "standard_founding_proposed.txt", to=addresses, now=now, proposal=proposal
        )
    return proposal


def approve_founding(
    session: Session, proposal: FoundingProposal, *, now: datetime, actor: User
) -> None:
    """Approve a founding proposal; a specialisation joins the reference data at once.

    A program type is part of the code (an enum the database checks), so approving one records
    the decision and a release adds the type.
    """
    check_board(actor)
    _check_pending(proposal)
    _check_founding_code(session, proposal.kind, proposal.code, proposal.name)
    _decide(proposal, Decision.ACCEPTED, now=now, actor=actor)
    if proposal.kind == FoundingKind.SPECIALISATION:
        session.add(Specialisation(code=proposal.code, name=proposal.name))
    session.flush()
    log(
        session,
        "standard.founding_approved",
        proposal.standard,
        now=now,
        actor=actor,
        founding_id=proposal.id,
        kind=proposal.kind,
        code=proposal.code,
        name=proposal.name,
    )
    if proposal.kind == FoundingKind.SPECIALISATION:
        record_event(
            session,
            action="specialisation.created",
            subject_type="specialisation",
            subject_id=proposal.code,
            now=now,
            actor=actor,
            data={"name": proposal.name, "standard": proposal.standard.code},
        )


def decline_founding(
    session: Session, proposal: FoundingProposal, *, reason: str, now: datetime, actor: User
) -> None:
    """Decline a founding proposal with the Board's reason."""
    check_board(actor)
    _check_pending(proposal)
    _decide(proposal, Decision.DECLINED, now=now, actor=actor, reason=reason)
    session.flush()
    log(
        session,
        "standard.founding_declined",
        proposal.standard,
        now=now,
        actor=actor,
        reason=proposal.decision_reason,
        founding_id=proposal.id,
        kind=proposal.kind,
        code=proposal.code,
    )
