"""Account forms. Each carries Flask-WTF's CSRF token."""

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from registry.accounts.services import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountError,
    check_password_rules,
)
from registry.i18n import LANGUAGES, _l

_password_length = Length(
    min=MIN_PASSWORD_LENGTH,
    max=MAX_PASSWORD_LENGTH,
    message=_l(
        "Use between %(minimum)s and %(maximum)s characters.",
        minimum=MIN_PASSWORD_LENGTH,
        maximum=MAX_PASSWORD_LENGTH,
    ),
)


def _new_password(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), _password_length],
        description=_l(
            "At least %(minimum)s characters, not a common or repetitive password."
            " A few unrelated words work well.",
            minimum=MIN_PASSWORD_LENGTH,
        ),
        render_kw={"autocomplete": "new-password"},
    )


def _check_new_password(field: PasswordField, context: Iterable[str]) -> None:
    """Apply the password rules to ``field`` (once its length is right)."""
    if field.errors or not field.data:
        return
    try:
        check_password_rules(field.data, context=context)
    except AccountError as error:
        raise ValidationError(str(error)) from None


def _confirmation() -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _email_field() -> EmailField:
    return EmailField(
        _l("E-mail address"),
        filters=[_strip],
        validators=[
            DataRequired(),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email"},
    )


class RegistrationForm(FlaskForm):
    """Name and address only: the password is chosen through the link sent to the address."""

    name = StringField(
        _l("Full name"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field()


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password = _new_password(_l("New password"))
    confirm = _confirmation()

    def __init__(self, *args: Any, context: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = tuple(context)  # the account's e-mail address and name

    def validate_password(self, field: PasswordField) -> None:
        _check_new_password(field, self.context)


class SignOutEverywhereForm(FlaskForm):
    """Only the CSRF token: the button ends every sign-in of the account."""


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password(_l("New password"))
    confirm = _confirmation()

    def __init__(self, *args: Any, context: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = tuple(context)  # the account's e-mail address and name

    def validate_password(self, field: PasswordField) -> None:
        _check_new_password(field, self.context)


# The choice's value for "as my browser asks" (stored as None).
BROWSER_LANGUAGE = ""


class LanguageForm(FlaskForm):
    """The language the site speaks to this person in, whatever the browser asks."""

    language = SelectField(
        _l("Language"),
        choices=[SelectChoice(BROWSER_LANGUAGE, _l("As my browser asks"))]
        + [SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGES.items()],
        default=BROWSER_LANGUAGE,
    )
