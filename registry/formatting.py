"""Dates, times, numbers and money as the reader's language writes them.

One format per language: a day is "7 December 2026" in English, "7 décembre 2026" in French,
"7. Dezember 2026" in German; an instant adds the time in the registry's time zone. English
amounts carry the ISO code ("EUR 1,250.00", unambiguous for an international profession);
the other languages write them as their readers expect ("1.250,00 €" in German).

Every page, e-mail and PDF formats through these functions (the templates through the filters
``date``, ``datetime``, ``number`` and ``money``), in the language of the request or of the
``force_locale`` block around an e-mail.
"""

from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, get_currency_precision
from flask import Flask

from registry.clock import registry_zone
from registry.i18n import babel_locale, current_language

# The locale whose conventions a language's pages follow where Babel's default for the bare
# language is not the registry's (English: British dates, "7 December 2026").
FORMAT_LOCALES = {"en": "en_GB"}
DAY_FORMAT = "long"


def formatting_locale(language: str | None = None) -> Locale:
    language = language or current_language()
    return babel_locale(FORMAT_LOCALES.get(language, language))


def format_day(value: date | datetime | None) -> str:
    """Return a calendar day ("7 December 2026"); an instant gives its day in the registry."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(registry_zone()).date()
    return format_date(value, DAY_FORMAT, locale=formatting_locale())


def format_month(value: date) -> str:
    """Return a month and year ("December 2026", "Dezember 2026")."""
    return format_date(value, "MMMM y", locale=formatting_locale())


def format_instant(value: datetime | None) -> str:
    """Return an aware instant in the registry's time zone ("7 December 2026, 15:20 CET")."""
    if value is None:
        return ""
    local = value.astimezone(registry_zone())
    locale = formatting_locale()
    day = format_date(local.date(), DAY_FORMAT, locale=locale)
    time = f"{format_time(local, 'HH:mm', locale=locale)} {local.strftime('%Z')}"
    return str(locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", time)


def format_number(value: int | float | Decimal, decimals: int | None = None) -> str:
    """Return a number with the language's separators ("10,000", "10.000", "4,5").

    ``decimals`` fixes how many digits follow the decimal sign (a rating "4.0", "4,0").
    """
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, pattern, locale=formatting_locale())


def format_money(amount_minor: int, currency: str) -> str:
    """Return an amount in minor units ("EUR 1,250.00" in English, "1.250,00 €" in German)."""
    code = currency.strip().upper()
    digits = get_currency_precision(code)
    amount = Decimal(amount_minor).scaleb(-digits)
    locale = formatting_locale()
    if locale.language == "en":
        pattern = "¤¤ #,##0" + ("." + "0" * digits if digits else "")
        return format_currency(amount, code, format=pattern, locale=locale, currency_digits=False)
    return format_currency(amount, code, locale=locale)


def init_app(app: Flask) -> None:
    app.add_template_filter(format_day, "date")
    app.add_template_filter(format_month, "month")
    app.add_template_filter(format_instant, "datetime")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_money, "money")
