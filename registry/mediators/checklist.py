"""What a mediator still needs on the way to certification: computed from facts, never stored.

``certification_prerequisites`` are what must hold before staff can grant; ``certification_steps``
adds the grant and the first listing contribution, the whole path from applicant to certified
that the mediator's checklist page and the organisation dashboard show.
"""

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from registry.digests.models import Digest
from registry.digests.queries import current_digest, latest_digest
from registry.formatting import format_day
from registry.i18n import _l, in_sentence
from registry.mediators.models import Mediator, MediatorLanguage
from registry.mediators.status import Standing

MIN_BIOGRAPHY = 50
# What str.strip() takes away, for the SQL form of the profile check.
_WHITESPACE = " \t\n\r\f\v"

# The steps of the path to certification (``certification_steps``), by label.
PROFILE_STEP = "Complete profile"
ASSESSMENT_STEP = "Assessment by a QAP"
DIGEST_STEP = "Current Feedback Digest"
GRANT_STEP = "Certification granted"
PAYMENT_STEP = "First listing contribution paid or waived"

# The labels above and the profile's items stay English: the organisation dashboard keys its
# filters by them. People read them in their language through ``ChecklistItem.text``.
LABEL_TEXTS = {
    PROFILE_STEP: _l("Complete profile"),
    ASSESSMENT_STEP: _l("Assessment by a QAP"),
    DIGEST_STEP: _l("Current Feedback Digest"),
    GRANT_STEP: _l("Certification granted"),
    PAYMENT_STEP: _l("First listing contribution paid or waived"),
    "Name": _l("Name"),
    "Country": _l("Country"),
    "Languages": _l("Languages"),
    "Biography": _l("Biography"),
    "Contact": _l("Contact"),
    "Practice areas": _l("Practice areas"),
}


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    is_done: bool
    # What to do next when not done (shown to the mediator, staff and the organisation).
    hint: str = ""
    # The day the step was done, when the facts say (a profile's completion has no date).
    done_on: date | None = None
    # The endpoint where the mediator takes the next action, if they can take it themselves,
    # and the words of the link.
    action: str | None = None
    action_label: str = ""

    @property
    def text(self) -> str:
        """The label in the reader's language."""
        return step_text(self.label)


def step_text(label: str) -> str:
    """Return a step's label (the English key of filters and CSV files) in the reader's language."""
    return str(LABEL_TEXTS.get(label, label))


def profile_checklist(mediator: Mediator) -> list[ChecklistItem]:
    """Return the profile's completeness, item by item."""
    return [
        ChecklistItem("Name", bool(mediator.name.strip()), _("Give your full name.")),
        ChecklistItem("Country", bool(mediator.country), _("Choose the country you practise in.")),
        ChecklistItem(
            "Languages", bool(mediator.languages), _("List the languages you mediate in.")
        ),
        ChecklistItem(
            "Biography",
            len(mediator.biography.strip()) >= MIN_BIOGRAPHY,
            _("Write a biography of at least %(count)s characters.", count=MIN_BIOGRAPHY),
        ),
        ChecklistItem(
            "Contact", bool(mediator.contact.strip()), _("Publish how clients reach you.")
        ),
        ChecklistItem(
            "Practice areas", bool(mediator.practice_areas.strip()), _("Describe your practice.")
        ),
    ]


def _filled(column: ColumnElement[str]) -> ColumnElement[int]:
    return func.length(func.trim(column, _WHITESPACE))


def profile_complete_clause() -> ColumnElement[bool]:
    """Return ``profile_checklist``'s "all done" as SQL over ``Mediator`` (the dashboard counts
    and filters with it; the tests hold the two to the same answers)."""
    return and_(
        _filled(Mediator.name) > 0,
        Mediator.country.is_not(None),
        exists(select(MediatorLanguage.code).where(MediatorLanguage.mediator_id == Mediator.id)),
        _filled(Mediator.biography) >= MIN_BIOGRAPHY,
        _filled(Mediator.contact) > 0,
        _filled(Mediator.practice_areas) > 0,
    )


def certification_prerequisites(
    mediator: Mediator, on: date, digest: Digest | None, last_digest: Digest | None = None
) -> list[ChecklistItem]:
    """Return what must be true on ``on`` before a grant, given the digest current then.

    ``last_digest`` (the latest published one, current or not) only words the hint.
    """
    missing = [in_sentence(item.text) for item in profile_checklist(mediator) if not item.is_done]
    assessed = [a.assessed_on for a in mediator.assessments if a.assessed_on <= on]
    items = [
        ChecklistItem(
            PROFILE_STEP,
            not missing,
            _("Missing: %(items)s.", items=", ".join(missing)) if missing else "",
            action="mediators.my_profile",
            action_label=_("Edit your profile"),
        ),
        ChecklistItem(
            ASSESSMENT_STEP,
            bool(assessed),
            _("A recognised assessment program (QAP) assesses you and records the result."),
            done_on=max(assessed) if assessed else None,
        ),
    ]
    if current_app.config["DIGEST_REQUIRED"]:
        if last_digest is not None and digest is None:
            hint = _(
                "Your digest expired on %(day)s; "
                "ask parties of recent mediations for feedback for a new one.",
                day=format_day(last_digest.valid_until),
            )
        else:
            hint = _("Ask parties of past mediations for feedback; a peer reviewer compiles it.")
        items.append(
            ChecklistItem(
                DIGEST_STEP,
                digest is not None,
                hint,
                done_on=digest.published_on if digest else None,
                action="feedback.my_feedback",
                action_label=_("Ask for feedback"),
            )
        )
    return items


def prerequisites_on(session: Session, mediator: Mediator, on: date) -> list[ChecklistItem]:
    """Return ``certification_prerequisites`` with the mediator's digests looked up."""
    return certification_prerequisites(
        mediator, on, current_digest(session, mediator.id, on), latest_digest(session, mediator.id)
    )


def certification_steps(
    prerequisites: list[ChecklistItem], standing: Standing
) -> list[ChecklistItem]:
    """Return the whole path to certification: the prerequisites, the grant, the first payment."""
    certification = standing.certification
    granted = certification is not None
    covered = standing.covered_until is not None
    return [
        *prerequisites,
        ChecklistItem(
            GRANT_STEP,
            granted,
            _("Registry staff grant certification once every step above is done."),
            done_on=certification.granted_on if certification else None,
        ),
        ChecklistItem(
            PAYMENT_STEP,
            covered,
            _("Pay the listing contribution invoiced with the grant, or ask for a waiver."),
            # Nothing to pay before the grant issues the first invoice.
            action="mediators.my_certification" if granted else None,
            action_label=_("Pay or ask for a waiver"),
        ),
    ]
