"""The mediator's request form and the parties' questionnaire."""

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import MonthField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from registry.feedback.models import DIMENSION_CODES, DIMENSIONS, MediationKind
from registry.feedback.services import MAX_PARTIES, MAX_TEXT_LENGTH, split_addresses

KIND_CHOICES = {"": "Choose the kind of mediation", **{k.value: k.label for k in MediationKind}}

# The answers to each statement, SCORE_MIN to SCORE_MAX.
SCALE = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
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
        "Month of the mediation",
        # InputRequired, not DataRequired: it keeps the "YYYY-MM" error of a malformed month.
        validators=[InputRequired(message="Enter the month of the mediation.")],
        description="As YYYY-MM, for example 2026-03.",
        invalid_value_message="Enter the month as YYYY-MM, for example 2026-03.",
        render_kw={"placeholder": "YYYY-MM"},
    )
    kind = SelectField(
        "Kind of mediation",
        choices=KIND_CHOICES,
        validators=[DataRequired(message="Choose the kind of mediation.")],
    )
    emails = TextAreaField(
        "The parties' e-mail addresses",
        validators=[
            DataRequired(message="Enter the e-mail address of at least one party."),
            Length(max=MAX_PARTIES * 300, message="That is more text than ten addresses."),
        ],
        description=(
            f"One per line, or separated by commas; at most {MAX_PARTIES}. "
            "Each party gets their own link."
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
        "What did the mediator do well?",
        validators=[Length(max=MAX_TEXT_LENGTH, message=f"At most {MAX_TEXT_LENGTH} characters.")],
        description=f"Optional; at most {MAX_TEXT_LENGTH} characters.",
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_TEXT_LENGTH},
    )
    could_improve = TextAreaField(
        "What could the mediator do better?",
        validators=[Length(max=MAX_TEXT_LENGTH, message=f"At most {MAX_TEXT_LENGTH} characters.")],
        description=f"Optional; at most {MAX_TEXT_LENGTH} characters.",
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
            choices=SCALE,
            coerce=int,
            validators=[InputRequired(message="Choose one answer.")],
        ),
    )
