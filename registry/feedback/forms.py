"""The mediator's request form and the parties' questionnaire."""

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import MonthField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from registry.feedback.models import DIMENSION_CODES, DIMENSIONS, MEDIATION_KIND_LABELS
from registry.feedback.services import MAX_PARTIES, MAX_TEXT_LENGTH, split_addresses
from registry.i18n import _l, choices

KIND_CHOICES = {"": _l("Choose the kind of mediation"), **MEDIATION_KIND_LABELS}

# The answers to each statement, SCORE_MIN to SCORE_MAX.
SCALE = {
    1: _l("Strongly disagree"),
    2: _l("Disagree"),
    3: _l("Neither agree nor disagree"),
    4: _l("Agree"),
    5: _l("Strongly agree"),
}


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class MediationMonthField(MonthField):
    """A month as YYYY-MM (an <input type="month">), read as its first day; blank is None."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata([value.strip() for value in valuelist])


class RequestFeedbackForm(FlaskForm):
    month = MediationMonthField(
        _l("Month of the mediation"),
        # InputRequired, not DataRequired: it keeps the "YYYY-MM" error of a malformed month.
        validators=[InputRequired(message=_l("Enter the month of the mediation."))],
        description=_l("As YYYY-MM, for example 2026-03."),
        invalid_value_message=_l("Enter the month as YYYY-MM, for example 2026-03."),
        render_kw={"placeholder": "YYYY-MM"},
    )
    kind = SelectField(
        _l("Kind of mediation"),
        choices=choices(KIND_CHOICES),
        validators=[DataRequired(message=_l("Choose the kind of mediation."))],
    )
    emails = TextAreaField(
        _l("The parties' e-mail addresses"),
        validators=[
            DataRequired(message=_l("Enter the e-mail address of at least one party.")),
            Length(max=MAX_PARTIES * 300, message=_l("That is more text than ten addresses.")),
        ],
        description=_l(
            "One per line, or separated by commas; at most %(count)s. "
            "Each party gets their own link.",
            count=MAX_PARTIES,
        ),
        filters=[_strip],
        render_kw={"rows": 4, "autocomplete": "off", "spellcheck": "false"},
    )

    @property
    def month_start(self) -> date:
        return self.month.data.replace(day=1)

    @property
    def addresses(self) -> list[str]:
        return split_addresses(self.emails.data)


class QuestionnaireForm(FlaskForm):
    """One 1-5 scale per questionnaire dimension (added below) and two optional comments."""

    went_well = TextAreaField(
        _l("What did the mediator do well?"),
        validators=[Length(max=MAX_TEXT_LENGTH, message=_l("At most %(max)d characters."))],
        description=_l("Optional; at most %(count)s characters.", count=MAX_TEXT_LENGTH),
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_TEXT_LENGTH},
    )
    could_improve = TextAreaField(
        _l("What could the mediator do better?"),
        validators=[Length(max=MAX_TEXT_LENGTH, message=_l("At most %(max)d characters."))],
        description=_l("Optional; at most %(count)s characters.", count=MAX_TEXT_LENGTH),
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_TEXT_LENGTH},
    )

    def dimension_fields(self) -> list[RadioField]:
        """Return the scale fields in questionnaire order."""
        return [self[score_field(code)] for code in DIMENSION_CODES]

    def scores(self) -> dict[str, int]:
        """Return the chosen score per dimension code."""
        return {code: self[score_field(code)].data for code in DIMENSION_CODES}


def score_field(code: str) -> str:
    """Return the form field name of a dimension (prefixed: "process" is a Form method)."""
    return f"score_{code}"


for _code, _question in DIMENSIONS:
    setattr(
        QuestionnaireForm,
        score_field(_code),
        RadioField(
            _question,
            choices=choices(SCALE),
            coerce=int,
            validators=[InputRequired(message=_l("Choose one answer."))],
        ),
    )
