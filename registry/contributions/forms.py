"""Payment, waiver and fee schedule forms. Amounts are typed in major units ("150.00", "150,00")."""

import re

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from registry.contributions.models import TIER_LABELS
from registry.contributions.services import MAX_AMOUNT_MINOR
from registry.fields import DateField
from registry.i18n import _l, choices, country_select_choices
from registry.reference import CURRENCIES

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
        raise ValueError(_("The amount cannot be negative."))
    match = _PLAIN_AMOUNT.fullmatch(text)
    example = "150" if digits == 0 else "150." + "0" * digits
    if match is None:
        raise ValueError(
            _(
                "Enter the amount in digits with one decimal point or comma, such as %(example)s.",
                example=example,
            )
        )
    whole, separator, fraction = match.group(1), match.group(2), match.group(3) or ""
    if separator and len(fraction) == 3 and digits != 3:
        plain = "1000" if digits == 0 else "1000." + "0" * digits
        raise ValueError(
            _(
                "%(text)s is ambiguous: it could be a thousand or one. Write it without "
                "grouping, such as 1000 or %(plain)s.",
                text=text,
                plain=plain,
            )
        )
    if len(fraction) > digits:
        if digits == 0:
            raise ValueError(_("%(currency)s amounts are whole numbers.", currency=currency))
        raise ValueError(
            _(
                "%(currency)s amounts have at most %(digits)s decimals.",
                currency=currency,
                digits=digits,
            )
        )
    if len(whole) > _MAX_WHOLE_DIGITS:
        raise ValueError(_("The amount is too large; check the number."))
    minor = int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    if minor > MAX_AMOUNT_MINOR:
        raise ValueError(_("The amount is too large; check the number."))
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
    amount = AmountField(_l("Amount received"), validators=[DataRequired()])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    note = StringField(
        _l("Note"), validators=[Length(max=500)], description=_l("Bank reference, etc.")
    )

    def validate_currency(self, field: StringField) -> None:
        field.data = (field.data or "").strip().upper()
        if field.data not in CURRENCIES:
            raise ValidationError(_("Unknown currency; use an ISO 4217 code like EUR."))

    def validate_amount(self, field: AmountField) -> None:
        currency = (self.currency.data or "").strip().upper()
        _check_amount(self, field, currency if currency in CURRENCIES else "EUR")
        if field.minor == 0:
            raise ValidationError(_("The amount must be more than zero."))


class VoidPaymentForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(message=_l("Say why the payment is voided.")), Length(max=2000)],
        description=_l("Say what was wrong, e.g. booked on the wrong invoice or the wrong amount."),
        render_kw={"rows": 2},
    )


class WaiverForm(FlaskForm):
    percent = IntegerField(
        _l("Waive (percent)"),
        validators=[
            InputRequired(message=_l("Give a whole percentage.")),
            NumberRange(min=1, max=100, message=_l("A waiver is between 1%% and 100%%.")),
        ],
        description=_l("100 waives the whole contribution; less waives part of it."),
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(message=_l("A waiver needs a reason.")), Length(max=2000)],
        render_kw={"rows": 2},
    )


class WaiverDecisionForm(FlaskForm):
    decision = SelectField(
        _l("Decision"), choices=choices({"grant": _l("Grant"), "refuse": _l("Refuse")})
    )
    note = TextAreaField(
        _l("Note to the mediator"),
        validators=[Length(max=2000)],
        description=_l("Required when refusing."),
        render_kw={"rows": 2},
    )


class FeeRateForm(FlaskForm):
    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(message=_l("Give a year.")),
            NumberRange(min=2000, max=2200, message=_l("Between 2000 and 2200.")),
        ],
    )
    amount = AmountField(_l("Full yearly contribution"), validators=[DataRequired()])
    currency = StringField(_l("Currency"), default="EUR", validators=[DataRequired()])

    validate_currency = PaymentForm.validate_currency

    def validate_amount(self, field: AmountField) -> None:
        currency = (self.currency.data or "").strip().upper()
        _check_amount(self, field, currency if currency in CURRENCIES else "EUR")


class CountryTierForm(FlaskForm):
    country = SelectField(_l("Country"), choices=country_select_choices)
    tier = SelectField(_l("Tier"), choices=choices(TIER_LABELS))


class HeldPaymentForm(FlaskForm):
    decision = SelectField(
        _l("Decision"),
        choices=choices(
            {"book": _l("Book it on the invoice"), "return": _l("Return it to the payer")}
        ),
    )
    note = TextAreaField(
        _l("Note"),
        validators=[Length(max=2000)],
        description=_l("Required when returning: say how the money goes back."),
        render_kw={"rows": 2},
    )


class RefundForm(FlaskForm):
    """A refund of a Stripe payment; the amount is in the payment's currency."""

    amount = AmountField(_l("Amount to refund"), validators=[DataRequired()])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(message=_l("Say why the money is refunded.")), Length(max=2000)],
        description=_l("Kept in the event log; the mediator is not shown it."),
        render_kw={"rows": 2},
    )

    validate_currency = PaymentForm.validate_currency
    validate_amount = PaymentForm.validate_amount


class PayNowForm(FlaskForm):
    """The mediator's "Pay now": no fields but the tokens."""
