"""Payment, waiver and fee schedule forms. Amounts are typed in major units ("150.00", "150,00")."""

import re

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from registry.contributions.models import Tier
from registry.contributions.services import MAX_AMOUNT_MINOR
from registry.fields import DateField
from registry.reference import COUNTRIES, CURRENCIES

# A plain decimal: digits, then optionally one decimal separator (a point or, as much of Europe
# writes it, a comma) and more digits. No exponent ("1e3"), sign, grouping ("1,000.00" or
# "1 000"), spaces or other scripts' digits.
_PLAIN_AMOUNT = re.compile(r"([0-9]+)(?:([.,])([0-9]+))?", re.ASCII)
# Digits before the separator beyond which no amount is plausible (checked before int() reads them).
_MAX_WHOLE_DIGITS = 12


def to_minor_units(text: str, currency: str) -> int:
    """Return ``text`` ("150.5" or "150,5") in minor units of ``currency``; ValueError if inexact.

    Only plain decimals with at most the currency's minor digits are money: "1e3" or "1.000,50"
    would be read as something the person did not type. Three digits after a single separator
    ("1,000" or "1.000") are refused as ambiguous: one reader's thousand is another's one.
    """
    digits = CURRENCIES.get(currency, 2)
    text = text.strip()
    if text.startswith("-") and _PLAIN_AMOUNT.fullmatch(text[1:]):
        raise ValueError("The amount cannot be negative.")
    match = _PLAIN_AMOUNT.fullmatch(text)
    example = "150" if digits == 0 else "150." + "0" * digits
    if match is None:
        raise ValueError(
            f"Enter the amount in digits with one decimal point or comma, such as {example}."
        )
    whole, separator, fraction = match.group(1), match.group(2), match.group(3) or ""
    if separator and len(fraction) == 3 and digits != 3:
        plain = "1000" if digits == 0 else "1000." + "0" * digits
        raise ValueError(
            f"{text} is ambiguous: it could be a thousand or one. Write it without grouping, "
            f"such as 1000 or {plain}."
        )
    if len(fraction) > digits:
        if digits == 0:
            raise ValueError(f"{currency} amounts are whole numbers.")
        raise ValueError(f"{currency} amounts have at most {digits} decimals.")
    if len(whole) > _MAX_WHOLE_DIGITS:
        raise ValueError("The amount is too large; check the number.")
    minor = int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    if minor > MAX_AMOUNT_MINOR:
        raise ValueError("The amount is too large; check the number.")
    return minor


class AmountField(StringField):
    """A money amount in major units; ``minor`` holds it in minor units once validated."""

    minor: int | None = None


def _check_amount(form: FlaskForm, field: AmountField, currency: str) -> None:
    try:
        field.minor = to_minor_units(field.data or "", currency)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class PaymentForm(FlaskForm):
    amount = AmountField("Amount received", validators=[DataRequired()])
    currency = StringField("Currency", validators=[DataRequired(), Length(min=3, max=3)])
    received_on = DateField("Received on", validators=[DataRequired()])
    note = StringField("Note", validators=[Length(max=500)], description="Bank reference, etc.")

    def validate_currency(self, field: StringField) -> None:
        field.data = (field.data or "").strip().upper()
        if field.data not in CURRENCIES:
            raise ValidationError("Unknown currency; use an ISO 4217 code like EUR.")

    def validate_amount(self, field: AmountField) -> None:
        currency = (self.currency.data or "").strip().upper()
        _check_amount(self, field, currency if currency in CURRENCIES else "EUR")
        if field.minor == 0:
            raise ValidationError("The amount must be more than zero.")


class VoidPaymentForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="Say why the payment is voided."), Length(max=2000)],
        description="Say what was wrong, e.g. booked on the wrong invoice or the wrong amount.",
        render_kw={"rows": 2},
    )


class WaiverForm(FlaskForm):
    percent = IntegerField(
        "Waive (percent)",
        validators=[
            InputRequired(message="Give a whole percentage."),
            NumberRange(min=1, max=100, message="A waiver is between 1%% and 100%%."),
        ],
        description="100 waives the whole contribution; less waives part of it.",
    )
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="A waiver needs a reason."), Length(max=2000)],
        render_kw={"rows": 2},
    )


class WaiverDecisionForm(FlaskForm):
    decision = SelectField("Decision", choices={"grant": "Grant", "refuse": "Refuse"})
    note = TextAreaField(
        "Note to the mediator",
        validators=[Length(max=2000)],
        description="Required when refusing.",
        render_kw={"rows": 2},
    )


class FeeRateForm(FlaskForm):
    year = IntegerField(
        "Year",
        validators=[
            InputRequired(message="Give a year."),
            NumberRange(min=2000, max=2200, message="Between 2000 and 2200."),
        ],
    )
    amount = AmountField("Full yearly contribution", validators=[DataRequired()])
    currency = StringField("Currency", default="EUR", validators=[DataRequired()])

    validate_currency = PaymentForm.validate_currency

    def validate_amount(self, field: AmountField) -> None:
        currency = (self.currency.data or "").strip().upper()
        _check_amount(self, field, currency if currency in CURRENCIES else "EUR")


class CountryTierForm(FlaskForm):
    country = SelectField(
        "Country", choices=dict(sorted(COUNTRIES.items(), key=lambda item: item[1]))
    )
    tier = SelectField("Tier", choices={tier.value: tier.label for tier in Tier})


class HeldPaymentForm(FlaskForm):
    decision = SelectField(
        "Decision",
        choices={"book": "Book it on the invoice", "return": "Return it to the payer"},
    )
    note = TextAreaField(
        "Note",
        validators=[Length(max=2000)],
        description="Required when returning: say how the money goes back.",
        render_kw={"rows": 2},
    )


class RefundForm(FlaskForm):
    """A refund of a Stripe payment; the amount is in the payment's currency."""

    amount = AmountField("Amount to refund", validators=[DataRequired()])
    currency = StringField("Currency", validators=[DataRequired(), Length(min=3, max=3)])
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="Say why the money is refunded."), Length(max=2000)],
        description="Kept in the event log; the mediator is not shown it.",
        render_kw={"rows": 2},
    )

    validate_currency = PaymentForm.validate_currency
    validate_amount = PaymentForm.validate_amount


class PayNowForm(FlaskForm):
    """The mediator's "Pay now": no fields but the tokens."""
