"""Forms of the staff digest page and the peer reviewer's pages."""

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from registry.accounts.models import User
from registry.digests.services import MAX_DETAILS_LENGTH, MAX_REASON_LENGTH, MAX_SUMMARY_LENGTH
from registry.i18n import _l, choices


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class AssignReviewerForm(FlaskForm):
    reviewer_id = SelectField(_l("Peer reviewer"), coerce=int, validate_choice=False)

    def __init__(self, *args: object, reviewers: list[User], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reviewer_id.choices = {
            0: _("Choose a peer reviewer"),
            **{user.id: f"{user.name} ({user.email})" for user in reviewers},
        }

    def validate_reviewer_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError(_("Choose a peer reviewer."))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for withdrawing"),
        validators=[
            DataRequired(message=_l("Say why the assignment is withdrawn.")),
            Length(max=MAX_REASON_LENGTH, message=_l("At most %(max)d characters.")),
        ],
        description=_l("The reviewer receives it by e-mail; it is kept in the event log."),
        filters=[_strip],
        render_kw={"rows": 2},
    )


NO_CONFLICT, CONFLICT = "none", "conflict"
# The kinds as kept on the assignment (in English, like the rest of the record) ...
CONFLICT_KINDS = {
    "relationship": "A personal, family or business relationship with the mediator",
    "prior_work": "Prior or current work with, for or against the mediator",
    "gifts": "Gifts, hospitality or payments from or to the mediator",
    "other": "Something else that could affect my judgement",
}
# ... and as the reviewer reads them.
CONFLICT_KIND_CHOICES = {
    "relationship": _l("A personal, family or business relationship with the mediator"),
    "prior_work": _l("Prior or current work with, for or against the mediator"),
    "gifts": _l("Gifts, hospitality or payments from or to the mediator"),
    "other": _l("Something else that could affect my judgement"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DeclarationForm(FlaskForm):
    """The conflict-of-interest declaration: "no conflict" is confirmed explicitly."""

    declaration = RadioField(
        _l("Your declaration"),
        choices=choices(
            {
                NO_CONFLICT: _l("I have no conflict of interest with this mediator"),
                CONFLICT: _l("I have a conflict of interest with this mediator"),
            }
        ),
        validate_choice=False,
    )
    confirm = BooleanField(
        _l(
            "I confirm that I have no personal, professional or financial tie to this mediator "
            "that could affect, or appear to affect, my judgement of their feedback."
        )
    )
    kinds = MultiCheckboxField(_l("Kind of conflict"), choices=choices(CONFLICT_KIND_CHOICES))
    details = TextAreaField(
        _l("Details of the conflict"),
        validators=[Length(max=MAX_DETAILS_LENGTH, message=_l("At most %(max)d characters."))],
        description=_l("What the tie is and when it began; registry staff read it."),
        filters=[_strip],
        render_kw={"rows": 3, "maxlength": MAX_DETAILS_LENGTH},
    )

    def __init__(self, *args: object, later: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # A later declaration (during the review) can only be a conflict.
        self.later = later
        if later:
            self.declaration.data = CONFLICT

    @property
    def has_conflict(self) -> bool:
        return self.declaration.data == CONFLICT

    def validate_declaration(self, field: RadioField) -> None:
        if field.data not in (NO_CONFLICT, CONFLICT):
            raise ValidationError(_("Choose whether you have a conflict of interest."))

    def validate_confirm(self, field: BooleanField) -> None:
        if self.declaration.data == NO_CONFLICT and not field.data:
            raise ValidationError(_("Tick the box to confirm that you have no conflict."))

    def validate_kinds(self, field: MultiCheckboxField) -> None:
        if self.has_conflict and not field.data:
            raise ValidationError(_("Choose at least one kind of conflict."))
        if any(kind not in CONFLICT_KINDS for kind in field.data or []):
            raise ValidationError(_("Choose among the kinds listed."))

    def validate_details(self, field: TextAreaField) -> None:
        if self.has_conflict and not field.data:
            raise ValidationError(_("Describe the conflict."))

    def conflict_details(self) -> str:
        """Return the kinds ticked and the description, as kept on the assignment."""
        kinds = "; ".join(CONFLICT_KINDS[kind] for kind in self.kinds.data or [])
        return f"{kinds}. {self.details.data}" if kinds else self.details.data or ""


class SummaryForm(FlaskForm):
    """The digest's summary: saved as a draft, or published with the computed scores."""

    summary = TextAreaField(
        _l("Summary"),
        validators=[Length(max=MAX_SUMMARY_LENGTH, message=_l("At most %(max)d characters."))],
        description=_l(
            "Published on the mediator's profile beside the scores. Summarise what the parties "
            "said in your own words; never quote anything that identifies a party or a case."
        ),
        filters=[_strip],
        render_kw={"rows": 10, "maxlength": MAX_SUMMARY_LENGTH},
    )
