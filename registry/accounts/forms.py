"""Account forms. Each carries Flask-WTF's CSRF token."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from registry.accounts.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, find_user
from registry.extensions import db

_password_length = Length(
    min=MIN_PASSWORD_LENGTH,
    max=MAX_PASSWORD_LENGTH,
    message=f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters.",
)


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), _password_length],
        description=f"At least {MIN_PASSWORD_LENGTH} characters. A passphrase works well.",
        render_kw={"autocomplete": "new-password"},
    )


def _confirmation() -> PasswordField:
    return PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _email_field() -> EmailField:
    return EmailField(
        "E-mail address",
        filters=[_strip],
        validators=[
            DataRequired(),
            Email(message="Enter a valid e-mail address."),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email"},
    )


class RegistrationForm(FlaskForm):
    name = StringField(
        "Full name",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field()
    password = _new_password("Password")
    confirm = _confirmation()

    def validate_email(self, field: EmailField) -> None:
        if find_user(db.session, field.data) is not None:
            raise ValidationError(
                "An account with this e-mail address already exists. Sign in or reset the password."
            )


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        "Password", validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    remember = BooleanField("Keep me signed in on this device")


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password = _new_password("New password")
    confirm = _confirmation()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password("New password")
    confirm = _confirmation()
