"""Reading what the public pages of standards show: published versions, consultations, history.

Drafts are never public, except as consulted: a consultation (open or closed) shows the rules
of the draft as they were consulted on (``Consultation.rules``), not the draft as it is now.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.events.queries import events_about
from registry.i18n import _l
from standards.changes import RuleChange, rule_changes
from standards.comments import is_closed
from standards.models import (
    Consultation,
    ConsultationComment,
    Standard,
    StandardVersion,
    VersionStatus,
)
from standards.queries import published_versions, version_in_force


@dataclass(frozen=True)
class StandardRow:
    standard: Standard
    in_force: StandardVersion | None  # None for a new standard whose first draft is consulted
    open_consultations: list[Consultation]


def published_standards(session: Session, today: date) -> list[StandardRow]:
    """Return the public standards by code: those with a published version or a consultation."""
    rows = []
    for standard in session.scalars(select(Standard).order_by(Standard.code)):
        in_force = version_in_force(session, standard.id, today)
        consultations = consultations_of(session, standard, today)
        if in_force is not None or consultations:
            opened = [
                consultation for consultation in consultations if consultation.is_open_on(today)
            ]
            rows.append(StandardRow(standard, in_force, opened))
    return rows


def is_public(session: Session, standard: Standard, today: date) -> bool:
    """Return whether the standard has a public page: once published, or consulted on."""
    return bool(
        published_versions(session, standard.id) or consultations_of(session, standard, today)
    )


def consultations_of(session: Session, standard: Standard, today: date) -> list[Consultation]:
    """Return the consultations on the standard's drafts opened by ``today``, the latest first.

    A consultation due to open later is not public yet: nor is the draft it will show.
    """
    return list(
        session.scalars(
            select(Consultation)
            .join(StandardVersion, Consultation.version_id == StandardVersion.id)
            .where(StandardVersion.standard_id == standard.id, Consultation.opened_on <= today)
            .order_by(StandardVersion.number.desc(), Consultation.round.desc())
        )
    )


def consultation_at(
    session: Session, standard: Standard, number: int, round_: int, today: date
) -> Consultation | None:
    """Return round ``round_`` of the consultation on version ``number`` if it has opened."""
    return session.scalar(
        select(Consultation)
        .join(StandardVersion, Consultation.version_id == StandardVersion.id)
        .where(
            StandardVersion.standard_id == standard.id,
            StandardVersion.number == number,
            Consultation.round == round_,
            Consultation.opened_on <= today,
        )
    )


def published_version(session: Session, standard: Standard, number: int) -> StandardVersion | None:
    """Return the standard's version ``number`` if it is published (drafts are not public)."""
    return session.scalar(
        select(StandardVersion).where(
            StandardVersion.standard_id == standard.id,
            StandardVersion.number == number,
            StandardVersion.status == VersionStatus.PUBLISHED,
        )
    )


@dataclass(frozen=True)
class VersionPlace:
    """Where a published version stands among the others."""

    previous: StandardVersion | None
    following: StandardVersion | None  # in force until this one's publication
    changes: list[RuleChange] = field(default_factory=list)


def version_place(session: Session, version: StandardVersion) -> VersionPlace:
    """Return the published versions before and after ``version`` and its rule-by-rule changes."""
    versions = published_versions(session, version.standard_id)
    earlier = [other for other in versions if other.number < version.number]
    later = [other for other in versions if other.number > version.number]
    previous = earlier[-1] if earlier else None
    changes = (
        rule_changes(
            [(rule.code, rule.body) for rule in previous.rules],
            [(rule.code, rule.body) for rule in version.rules],
        )
        if previous
        else []
    )
    return VersionPlace(previous, later[0] if later else None, changes)


# -- The consultation report ---------------------------------------------------------------


@dataclass(frozen=True)
class AnswerGroup:
    verdict_label: str
    body: str
    comments: list[ConsultationComment]


@dataclass(frozen=True)
class Report:
    groups: list[AnswerGroup]
    unanswered: list[ConsultationComment]
    # Hidden by the moderator: they need no answer, so they are listed apart.
    hidden: list[ConsultationComment]


def published_comments(consultation: Consultation) -> list[ConsultationComment]:
    """Return the comments the public pages list: all but those awaiting e-mail confirmation.

    Hidden comments are listed too, with the moderator's reason instead of their text.
    """
    return [
        comment
        for comment in consultation.comments
        if comment.author_email is None or comment.confirmed_at is not None
    ]


def consultation_report(consultation: Consultation) -> Report:
    """Return the comments grouped by the Taskforce's answers, the shown ones left unanswered,
    and the hidden ones (which need no answer)."""
    listed = published_comments(consultation)
    groups = [
        AnswerGroup(
            answer.verdict_label,
            answer.body,
            [comment for comment in listed if comment.answer_id == answer.id],
        )
        for answer in consultation.answers
    ]
    unanswered = [
        comment for comment in listed if comment.answer_id is None and comment.hidden_at is None
    ]
    hidden = [
        comment for comment in listed if comment.answer_id is None and comment.hidden_at is not None
    ]
    return Report([group for group in groups if group.comments], unanswered, hidden)


def reports_of(session: Session, version: StandardVersion, today: date) -> list[Consultation]:
    """Return the closed consultations on ``version``: its consultation reports, by round."""
    return [
        consultation
        for consultation in session.scalars(
            select(Consultation)
            .where(Consultation.version_id == version.id)
            .order_by(Consultation.round)
        )
        if is_closed(consultation, today)
    ]


# -- History -------------------------------------------------------------------------------

# The steps of standard setting the public history shows, in words. Other entries logged on a
# standard (comments posted or hidden, drafts saved) are not part of its public history.
HISTORY_TEXTS = {
    "standard.proposal_accepted": _l("The Board accepted the proposal of this standard."),
    "taskforce.member_appointed": _l("The Board appointed a member of the Taskforce."),
    "taskforce.chair_named": _l("The Board appointed the chair of the Taskforce."),
    "taskforce.membership_ended": _l("A member left the Taskforce."),
    "standard.revision_started": _l("The Board started version %(version)s."),
    "standard.consultation_opened": _l(
        "A public consultation opened on draft version %(version)s."
    ),
    "standard.consultation_closed": _l("The public consultation on version %(version)s closed."),
    "standard.comment_answered": _l("The Taskforce answered comments on version %(version)s."),
    "standard.publication_proposed": _l("The chair proposed version %(version)s for publication."),
    "standard.publication_declined": _l(
        "The Board sent version %(version)s back to the Taskforce."
    ),
    "standard.version_published": _l("Version %(version)s was published."),
    "standard.founding_proposed": _l(
        "The Taskforce proposed that this standard found a specialisation or program type."
    ),
    "standard.founding_approved": _l(
        "The Board approved that this standard founds a specialisation or program type."
    ),
    "standard.founding_declined": _l(
        "The Board declined that this standard found a specialisation or program type."
    ),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    text: str


def _version_of(data: dict | None) -> str:
    data = data or {}
    value = data.get("version", data.get("number", ""))
    return str(value) if value not in (None, "") else "?"


def standard_history(session: Session, standard: Standard) -> list[HistoryEntry]:
    """Return the standard's public history from the event log, oldest first.

    Only the known steps are shown, each in words: no actor, reason or data is read out, so
    nothing confidential (a commenter's address, a member's e-mail) can reach the page.
    """
    events = events_about(session, "standard", standard.id, HISTORY_TEXTS)
    return [
        HistoryEntry(
            event.occurred_at,
            str(HISTORY_TEXTS[event.action]) % {"version": _version_of(event.data)},
        )
        for event in events
    ]
