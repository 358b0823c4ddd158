"""Forms of program recognition: the application and the chair's decision."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import FieldList, Form, FormField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from audits.documents.storage import ACCEPTED
from recognition.models import DECISION_LABELS, Decision, ProgramApplication
from recognition.services import (
    MAX_CITY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    REQUIRED_DOCUMENTS,
    ProgramDetails,
)
from registry.i18n import _l, choices, country_select_choices
from registry.organisations.models import ProgramType

LOCATION_ROWS = 4


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _limit(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(limit)s characters.", limit=limit))


class LocationForm(Form):
    country = SelectField(_l("Country"), validate_choice=False, default="")
    city = StringField(
        _l("City (empty: across the country, or online)"),
        validators=[Optional(), _limit(MAX_CITY_LENGTH)],
        filters=[_strip],
        render_kw={"maxlength": MAX_CITY_LENGTH},
    )


class ApplicationForm(FlaskForm):
    program_type = SelectField(
        _l("Program type"),
        validators=[DataRequired(message=_l("Choose the program type."))],
        choices=[],
    )
    name = StringField(
        _l("The program's name"),
        validators=[DataRequired(message=_l("Give the program's name.")), _limit(MAX_NAME_LENGTH)],
        filters=[_strip],
        render_kw={"maxlength": MAX_NAME_LENGTH},
    )
    description = TextAreaField(
        _l("Description"),
        validators=[
            DataRequired(message=_l("Describe the program.")),
            _limit(MAX_TEXT_LENGTH),
        ],
        description=_l("Shown in the directory once the program is recognised."),
        filters=[_strip],
        render_kw={"rows": 5, "maxlength": MAX_TEXT_LENGTH},
    )
    locations = FieldList(FormField(LocationForm), min_entries=LOCATION_ROWS)
    document_program = FileField(REQUIRED_DOCUMENTS["program"], render_kw={"accept": ACCEPTED})
    document_people = FileField(REQUIRED_DOCUMENTS["people"], render_kw={"accept": ACCEPTED})
    document_policies = FileField(REQUIRED_DOCUMENTS["policies"], render_kw={"accept": ACCEPTED})

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.program_type.choices = choices(
            {t.value: f"{t.value}: {t.label}" for t in ProgramType}, blank=""
        )
        countries = country_select_choices(blank="")
        for entry in self.locations:
            entry.form.country.choices = countries

    @classmethod
    def prefilled(cls, previous: ProgramApplication) -> "ApplicationForm":
        """Return the form filled with a declined application's program (the documents anew)."""
        program = previous.program
        locations = [{"country": loc.country, "city": loc.city} for loc in program.locations]
        locations += [{"country": "", "city": ""}] * max(0, LOCATION_ROWS - len(locations))
        return cls(
            formdata=None,
            data={
                "program_type": program.program_type,
                "name": program.name,
                "description": program.description,
                "locations": locations,
            },
        )

    def details(self) -> ProgramDetails:
        return ProgramDetails(
            program_type=self.program_type.data or "",
            name=self.name.data or "",
            description=self.description.data or "",
            locations=[
                (entry.form.country.data or "", entry.form.city.data or "")
                for entry in self.locations
            ],
        )

    def documents(self) -> dict[str, object]:
        return {key: getattr(self, f"document_{key}").data or None for key in REQUIRED_DOCUMENTS}


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=choices({decision.value: DECISION_LABELS[decision] for decision in Decision}),
        validators=[DataRequired(message=_l("Choose a decision."))],
    )
    reasons = TextAreaField(
        _l("Reasons (sent to the organisation)"),
        validators=[DataRequired(message=_l("Give the reasons.")), _limit(MAX_TEXT_LENGTH)],
        filters=[_strip],
        render_kw={"rows": 5, "maxlength": MAX_TEXT_LENGTH},
    )
    conditions = TextAreaField(
        _l("Conditions (only with a recognition with conditions)"),
        validators=[Optional(), _limit(MAX_TEXT_LENGTH)],
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_TEXT_LENGTH},
    )
