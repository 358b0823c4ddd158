"""Profile and credential forms."""

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from registry.fields import DateField
from registry.i18n import _l, choices, country_select_choices, language_select_choices
from registry.mediators.checklist import MIN_BIOGRAPHY
from registry.mediators.models import CERTIFICATION_TYPE_LABELS, STATUS_LABELS
from registry.organisations.models import ProgramType


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _countries() -> list[SelectChoice]:
    return country_select_choices(_l("Choose a country"))


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200)], filters=[_strip]
    )
    country = SelectField(_l("Country of practice"), choices=_countries, validators=[Optional()])
    languages = SelectMultipleField(
        _l("Languages you mediate in"),
        choices=language_select_choices,
        description=_l("Tick every language you mediate in."),
    )
    biography = TextAreaField(
        _l("Biography"),
        validators=[Length(max=5000)],
        description=_l(
            "Shown on your public profile; at least %(count)s characters.", count=MIN_BIOGRAPHY
        ),
        render_kw={"rows": 6},
    )
    contact = StringField(
        _l("Public contact details"),
        validators=[Length(max=500)],
        description=_l("A website, office address or phone number clients may use. It is public."),
        filters=[_strip],
    )
    practice_areas = StringField(
        _l("Practice areas"),
        validators=[Length(max=500)],
        description=_l(
            "For example: commercial, construction, workplace. Shown as declared by you, not "
            "verified. Specialisations such as Intercultural are granted by the registry."
        ),
        filters=[_strip],
    )


class NewMediatorForm(FlaskForm):
    name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200)], filters=[_strip]
    )
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Email(), Length(max=254)],
        description=_l("Private: reminders go here. A mediator account with this address sees it."),
        filters=[_strip],
    )
    country = SelectField(_l("Country of practice"), choices=_countries, validators=[Optional()])


class GrantForm(FlaskForm):
    certification_type = SelectField(
        _l("Certification"), choices=choices(CERTIFICATION_TYPE_LABELS)
    )
    granted_on = DateField(_l("Granted on"), validators=[DataRequired()])
    certificate_number = StringField(
        _l("Certificate number"),
        validators=[Optional(), Length(max=32)],
        description=_l("Leave empty for the next number (MR-<year>-<sequence>)."),
        filters=[_strip],
    )


class ConductForm(FlaskForm):
    """Suspend, lift a suspension or revoke: a date and a reason."""

    on = DateField(_l("From"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(message=_l("A reason is required.")), Length(max=2000)],
        description=_l("Shown on the public profile."),
        render_kw={"rows": 2},
    )


class NameChangeDecisionForm(FlaskForm):
    """Approve or refuse a requested name: a refusal needs the reason the mediator is shown."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Required to refuse; the mediator is shown it."),
        filters=[_strip],
        render_kw={"rows": 2},
    )


class ProgramRecordForm(FlaskForm):
    """An assessment or a completed training, by a recognised program."""

    program_id = SelectField(_l("Program"), coerce=int, choices=[])
    on = DateField(_l("Date"), validators=[DataRequired()])

    def __init__(self, *args: object, programs: list[tuple[int, str]], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.program_id.choices = dict(programs)


class MediatorFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or certificate number"), validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"),
        choices=choices(
            {"": _l("Any status"), **{s.value: label for s, label in STATUS_LABELS.items()}}
        ),
        validators=[Optional()],
    )
    page = IntegerField(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, message=_l("No such page."))],
    )


class SpecialisationGrantForm(FlaskForm):
    """Grant a specialisation: on a recognised program that assessed them, or a written basis."""

    code = SelectField(_l("Specialisation"), choices=[])
    granted_on = DateField(_l("Granted on"), validators=[DataRequired()])
    program_id = SelectField(
        _l("Basis: recognised program"),
        choices=[],
        description=_l("A program of a matching type that assessed them."),
    )
    basis = TextAreaField(
        _l("Or a written basis (direct grant)"),
        validators=[Length(max=2000)],
        description=_l("E.g. the standard's criteria they met and the evidence seen."),
        filters=[_strip],
        render_kw={"rows": 2},
    )
    valid_until = DateField(_l("Valid until (optional)"), validators=[Optional()])

    def __init__(
        self,
        *args: object,
        specialisations: list[tuple[str, str]],
        programs: list[tuple[int, str]],
        **kwargs: object,
    ):
        super().__init__(*args, **kwargs)
        self.code.choices = dict(specialisations)
        self.program_id.choices = choices(
            {"": _l("None: a direct grant"), **{str(id_): title for id_, title in programs}}
        )

    @property
    def program(self) -> int | None:
        return int(self.program_id.data) if self.program_id.data else None


class SpecialisationBasesForm(FlaskForm):
    """The program types whose recognised programs are a basis for one specialisation."""

    program_types = SelectMultipleField(
        _l("Program types"),
        choices=choices(
            {t.value: LazyString(lambda t=t: f"{t.value}: {t.label}") for t in ProgramType}
        ),
        render_kw={"size": len(ProgramType)},
    )
