"""Forms of the audit schedule and the staff program pages."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from audits.schedule import ProgramStatus
from audits.services import MAX_NAME_LENGTH, MAX_TEXT_LENGTH
from registry.fields import DateField
from registry.organisations.models import Organisation, ProgramType

TYPE_CHOICES = {t.value: f"{t.value}: {t.label}" for t in ProgramType}


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class ScheduleFilterForm(FlaskForm):
    """The schedule's filters (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(
        "Public status",
        choices={"": "Any status", **{s.value: s.label for s in ProgramStatus}},
        default="",
        validate_choice=False,
    )
    type = SelectField(
        "Program type", choices={"": "Any type", **TYPE_CHOICES}, default="", validate_choice=False
    )

    def validate_status(self, field: SelectField) -> None:
        if field.data and field.data not in set(ProgramStatus):
            raise ValidationError(f"Unknown status {field.data!r}.")

    def validate_type(self, field: SelectField) -> None:
        if field.data and field.data not in set(ProgramType):
            known = ", ".join(ProgramType)
            raise ValidationError(f"Unknown program type {field.data!r}; use one of {known}.")


class ProgramForm(FlaskForm):
    """A newly recognised program of an organisation."""

    organisation_id = SelectField("Organisation", coerce=int, validate_choice=False)
    program_type = SelectField(
        "Program type", choices={"": "Choose a type", **TYPE_CHOICES}, validate_choice=False
    )
    name = StringField(
        "Name of the program",
        validators=[
            DataRequired(message="Give the program's name."),
            Length(max=MAX_NAME_LENGTH, message=f"At most {MAX_NAME_LENGTH} characters."),
        ],
        filters=[_strip],
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=MAX_TEXT_LENGTH, message=f"At most {MAX_TEXT_LENGTH} characters.")],
        description="Shown on the organisation's public profile; may be left empty.",
        filters=[_strip],
        render_kw={"rows": 4},
    )
    recognised_on = DateField(
        "Recognised on",
        validators=[DataRequired(message="Give the date of recognition (YYYY-MM-DD).")],
        description="The first audit is due two years on, at the next 30 June or 31 December.",
    )

    def __init__(
        self, *args: object, organisations: list[Organisation], today: date, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.organisation_id.choices = {
            0: "Choose an organisation",
            **{o.id: o.name for o in organisations},
        }

    def validate_organisation_id(self, field: SelectField) -> None:
        if not field.data or field.data not in self.organisation_id.choices:
            raise ValidationError("Choose an organisation from the list.")

    def validate_program_type(self, field: SelectField) -> None:
        if field.data not in set(ProgramType):
            raise ValidationError("Choose a known program type.")

    def validate_recognised_on(self, field: DateField) -> None:
        if field.data and field.data > self.today:
            raise ValidationError("The recognition date cannot be in the future.")


class WithdrawProgramForm(FlaskForm):
    reason = TextAreaField(
        "Reason for withdrawing the recognition",
        validators=[
            DataRequired(message="Say why the recognition is withdrawn."),
            Length(max=MAX_TEXT_LENGTH, message=f"At most {MAX_TEXT_LENGTH} characters."),
        ],
        description=(
            "Kept in the event log. The public page shows only that the program is withdrawn, "
            "and since when."
        ),
        filters=[_strip],
        render_kw={"rows": 3},
    )
