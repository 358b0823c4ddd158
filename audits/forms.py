"""Forms of the audit schedule and the staff program pages."""

from datetime import date

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from audits.schedule import ProgramStatus
from audits.services import MAX_NAME_LENGTH, MAX_TEXT_LENGTH
from registry.fields import DateField
from registry.i18n import _l
from registry.organisations.models import Organisation, ProgramType


# Built when a form is made, so the labels are in the page's language.
def type_choices() -> dict[str, str]:
    return {t.value: f"{t.value}: {t.label}" for t in ProgramType}


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class ScheduleFilterForm(FlaskForm):
    """The schedule's filters (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Public status"), default="", validate_choice=False)
    type = SelectField(_l("Program type"), default="", validate_choice=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = {"": _("Any status"), **{s.value: s.label for s in ProgramStatus}}
        self.type.choices = {"": _("Any type"), **type_choices()}

    def validate_status(self, field: SelectField) -> None:
        if field.data and field.data not in set(ProgramStatus):
            raise ValidationError(_("Unknown status %(value)s.", value=repr(field.data)))

    def validate_type(self, field: SelectField) -> None:
        if field.data and field.data not in set(ProgramType):
            known = ", ".join(ProgramType)
            raise ValidationError(
                _(
                    "Unknown program type %(value)s; use one of %(known)s.",
                    value=repr(field.data),
                    known=known,
                )
            )


class ProgramForm(FlaskForm):
    """A newly recognised program of an organisation."""

    organisation_id = SelectField(_l("Organisation"), coerce=int, validate_choice=False)
    program_type = SelectField(_l("Program type"), validate_choice=False)
    name = StringField(
        _l("Name of the program"),
        validators=[
            DataRequired(message=_l("Give the program's name.")),
            Length(
                max=MAX_NAME_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_NAME_LENGTH),
            ),
        ],
        filters=[_strip],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[
            Length(
                max=MAX_TEXT_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_TEXT_LENGTH),
            )
        ],
        description=_l("Shown on the organisation's public profile; may be left empty."),
        filters=[_strip],
        render_kw={"rows": 4},
    )
    recognised_on = DateField(
        _l("Recognised on"),
        validators=[DataRequired(message=_l("Give the date of recognition (YYYY-MM-DD)."))],
        description=_l("The first audit is due two years on, at the next 30 June or 31 December."),
    )

    def __init__(
        self, *args: object, organisations: list[Organisation], today: date, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.program_type.choices = {"": _("Choose a type"), **type_choices()}
        self.organisation_id.choices = {
            0: _("Choose an organisation"),
            **{o.id: o.name for o in organisations},
        }

    def validate_organisation_id(self, field: SelectField) -> None:
        if not field.data or field.data not in self.organisation_id.choices:
            raise ValidationError(_("Choose an organisation from the list."))

    def validate_program_type(self, field: SelectField) -> None:
        if field.data not in set(ProgramType):
            raise ValidationError(_("Choose a known program type."))

    def validate_recognised_on(self, field: DateField) -> None:
        if field.data and field.data > self.today:
            raise ValidationError(_("The recognition date cannot be in the future."))


class WithdrawProgramForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for withdrawing the recognition"),
        validators=[
            DataRequired(message=_l("Say why the recognition is withdrawn.")),
            Length(
                max=MAX_TEXT_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_TEXT_LENGTH),
            ),
        ],
        description=_l(
            "Kept in the event log. The public page shows only that the program is withdrawn, "
            "and since when."
        ),
        filters=[_strip],
        render_kw={"rows": 3},
    )
