"""Profile and credential forms."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from registry.fields import DateField
from registry.mediators.checklist import MIN_BIOGRAPHY
from registry.mediators.models import CertificationType, Status
from registry.organisations.models import ProgramType
from registry.reference import COUNTRIES, LANGUAGES


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


# WTForms 3.3 takes choices as a {value: label} dict (tuples are deprecated).
COUNTRY_CHOICES = {
    "": "Choose a country",
    **dict(sorted(COUNTRIES.items(), key=lambda item: item[1])),
}
LANGUAGE_CHOICES = dict(sorted(LANGUAGES.items(), key=lambda item: item[1]))


class ProfileForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    country = SelectField("Country of practice", choices=COUNTRY_CHOICES, validators=[Optional()])
    languages = SelectMultipleField(
        "Languages you mediate in",
        choices=LANGUAGE_CHOICES,
        description="Tick every language you mediate in.",
    )
    biography = TextAreaField(
        "Biography",
        validators=[Length(max=5000)],
        description=f"Shown on your public profile; at least {MIN_BIOGRAPHY} characters.",
        render_kw={"rows": 6},
    )
    contact = StringField(
        "Public contact details",
        validators=[Length(max=500)],
        description="A website, office address or phone number clients may use. It is public.",
        filters=[_strip],
    )
    practice_areas = StringField(
        "Practice areas",
        validators=[Length(max=500)],
        description=(
            "For example: commercial, construction, workplace. Shown as declared by you, not "
            "verified. Specialisations such as Intercultural are granted by the registry."
        ),
        filters=[_strip],
    )


class NewMediatorForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    email = EmailField(
        "E-mail address",
        validators=[DataRequired(), Email(), Length(max=254)],
        description="Private: reminders go here. A mediator account with this address sees it.",
        filters=[_strip],
    )
    country = SelectField("Country of practice", choices=COUNTRY_CHOICES, validators=[Optional()])


class GrantForm(FlaskForm):
    certification_type = SelectField(
        "Certification", choices={t.value: t.label for t in CertificationType}
    )
    granted_on = DateField("Granted on", validators=[DataRequired()])
    certificate_number = StringField(
        "Certificate number",
        validators=[Optional(), Length(max=32)],
        description="Leave empty for the next number (MR-<year>-<sequence>).",
        filters=[_strip],
    )


class ConductForm(FlaskForm):
    """Suspend, lift a suspension or revoke: a date and a reason."""

    on = DateField("From", validators=[DataRequired()])
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="A reason is required."), Length(max=2000)],
        description="Shown on the public profile.",
        render_kw={"rows": 2},
    )


class NameChangeDecisionForm(FlaskForm):
    """Approve or refuse a requested name: a refusal needs the reason the mediator is shown."""

    reason = TextAreaField(
        "Reason",
        validators=[Optional(), Length(max=2000)],
        description="Required to refuse; the mediator is shown it.",
        filters=[_strip],
        render_kw={"rows": 2},
    )


class ProgramRecordForm(FlaskForm):
    """An assessment or a completed training, by a recognised program."""

    program_id = SelectField("Program", coerce=int, choices=[])
    on = DateField("Date", validators=[DataRequired()])

    def __init__(self, *args: object, programs: list[tuple[int, str]], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.program_id.choices = dict(programs)


class MediatorFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or certificate number", validators=[Optional(), Length(max=100)])
    status = SelectField(
        "Status",
        choices={"": "Any status", **{s.value: s.label for s in Status}},
        validators=[Optional()],
    )
    page = IntegerField(
        "Page", default=1, validators=[Optional(), NumberRange(min=1, message="No such page.")]
    )


class SpecialisationGrantForm(FlaskForm):
    """Grant a specialisation: on a recognised program that assessed them, or a written basis."""

    code = SelectField("Specialisation", choices=[])
    granted_on = DateField("Granted on", validators=[DataRequired()])
    program_id = SelectField(
        "Basis: recognised program",
        choices=[],
        description="A program of a matching type that assessed them.",
    )
    basis = TextAreaField(
        "Or a written basis (direct grant)",
        validators=[Length(max=2000)],
        description="E.g. the standard's criteria they met and the evidence seen.",
        filters=[_strip],
        render_kw={"rows": 2},
    )
    valid_until = DateField("Valid until (optional)", validators=[Optional()])

    def __init__(
        self,
        *args: object,
        specialisations: list[tuple[str, str]],
        programs: list[tuple[int, str]],
        **kwargs: object,
    ):
        super().__init__(*args, **kwargs)
        self.code.choices = dict(specialisations)
        self.program_id.choices = {
            "": "None: a direct grant",
            **{str(id_): title for id_, title in programs},
        }

    @property
    def program(self) -> int | None:
        return int(self.program_id.data) if self.program_id.data else None


class SpecialisationBasesForm(FlaskForm):
    """The program types whose recognised programs are a basis for one specialisation."""

    program_types = SelectMultipleField(
        "Program types",
        choices={t.value: f"{t.value}: {t.label}" for t in ProgramType},
        render_kw={"size": len(ProgramType)},
    )
