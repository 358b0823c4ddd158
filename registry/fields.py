"""Form fields that every domain's forms share."""

import calendar
import re
from datetime import date
from typing import Any

import wtforms
from flask_babel import gettext as _
from wtforms.validators import StopValidation

from registry.formatting import format_month

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_form_date(text: str) -> date:
    """Return the date ``text`` (YYYY-MM-DD) names; raise ValueError saying what is wrong."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise ValueError(_("Enter a date as YYYY-MM-DD, for example 2026-02-28."))
    year, month, day = (int(part) for part in match.groups())
    if year < 1:
        raise ValueError(_("%(text)s is an impossible date: there is no year 0.", text=text))
    if not 1 <= month <= 12:
        raise ValueError(
            _(
                "%(text)s is an impossible date: there is no month %(month)s.",
                text=text,
                month=month,
            )
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ValueError(
            _(
                "%(text)s is an impossible date: %(month)s has %(days)s days.",
                text=text,
                month=format_month(date(year, month, 1)),
                days=days,
            )
        )
    return date(year, month, day)


class DateField(wtforms.DateField):
    """A date typed as YYYY-MM-DD that says why it refuses a value (30 February is impossible).

    WTForms' own field calls any refused value "not a valid date", and DataRequired then
    replaces that with "This field is required."; here the reason stays.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = str(valuelist[0]).strip() if valuelist else ""
        if text:
            self.data = parse_form_date(text)

    def pre_validate(self, form: wtforms.Form) -> None:
        if self.process_errors:
            raise StopValidation()  # keep the reason; DataRequired would call it missing
