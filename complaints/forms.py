"""Forms of the public complaint pages: filing, tracking, and the complainant's actions."""

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    EmailField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Regexp, ValidationError

from complaints.models import SUBJECT_LABELS, Subject
from complaints.services import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MIN_DESCRIPTION_LENGTH,
)
from registry.formatting import format_number
from registry.i18n import _l
from registry.mediators.models import Mediator
from registry.organisations.models import Organisation, Program
from registry.search.verification import verify_certificate, verify_mediator
from registry.uploads import ACCEPTED

MAX_REFERENCE_LENGTH = 40
NAMED, ANONYMOUS = "named", "anonymous"
# The program select's values: "o:<id>" for an organisation as a whole, "p:<id>" for a program.
NOT_NAMED = ""


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def number(value: int) -> LazyString:
    """Return ``value`` formatted in the language of the page it is shown on."""
    return LazyString(format_number, value)


def at_most(limit: int) -> LazyString:
    """Return the message of a too long text: "At most 10,000 characters."."""
    return _l("At most %(limit)s characters.", limit=number(limit))


def _attachments(label: str | LazyString) -> MultipleFileField:
    return MultipleFileField(label, render_kw={"accept": ACCEPTED.replace(" ", "")})


class IntakeForm(FlaskForm):
    subject = RadioField(
        _l("What is your complaint about?"),
        # Choices as SelectChoice: a dict of lazy labels would be read as option groups.
        choices=[SelectChoice(subject.value, SUBJECT_LABELS[subject]) for subject in Subject],
        validators=[DataRequired(message=_l("Choose what your complaint is about."))],
    )
    mediator_reference = StringField(
        _l("The mediator's certificate number or profile id"),
        filters=[_strip],
        description=_l(
            "On their profile page: a certificate number like MR-2024-000012, "
            "or a profile id like M7K2QX9PLD."
        ),
        validators=[Length(max=MAX_REFERENCE_LENGTH, message=_l("That is too long for either."))],
        render_kw={"maxlength": MAX_REFERENCE_LENGTH, "autocomplete": "off"},
    )
    program = SelectField(
        _l("Which program or organisation (optional)"),
        validate_choice=False,
        description=_l("Leave it as it is if it is not listed or you are not sure."),
    )
    description = TextAreaField(
        _l("Your complaint"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Describe your complaint.")),
            Length(
                min=MIN_DESCRIPTION_LENGTH,
                max=MAX_DESCRIPTION_LENGTH,
                message=_l(
                    "Write at least %(minimum)s and at most %(maximum)s characters.",
                    minimum=number(MIN_DESCRIPTION_LENGTH),
                    maximum=number(MAX_DESCRIPTION_LENGTH),
                ),
            ),
        ],
        description=_l("What happened, when and where, and what you would like to happen now."),
        render_kw={"rows": 8, "maxlength": MAX_DESCRIPTION_LENGTH},
    )
    attachments = _attachments(_l("Attachments (optional)"))
    identity = RadioField(
        _l("Do you want to give your name?"),
        choices=[
            SelectChoice(NAMED, _l("Yes: file with my name")),
            SelectChoice(ANONYMOUS, _l("No: file anonymously")),
        ],
        validators=[
            DataRequired(message=_l("Choose whether to file with your name or anonymously."))
        ],
    )
    name = StringField(
        _l("Your name"),
        filters=[_strip],
        validators=[Length(max=MAX_NAME_LENGTH, message=at_most(MAX_NAME_LENGTH))],
        render_kw={"maxlength": MAX_NAME_LENGTH, "autocomplete": "name"},
    )
    email = EmailField(
        _l("Your e-mail address"),
        filters=[_strip],
        validators=[Length(max=254, message=at_most(254))],
        description=_l("We send you the receipt and tell you of each change to your complaint."),
        render_kw={"autocomplete": "email", "maxlength": 254},
    )

    def __init__(self, *args: Any, session: Session, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session, self._today = session, today
        self.program.choices = program_choices(session)
        self.mediator: Mediator | None = None
        self.program_chosen: Program | None = None
        self.organisation_chosen: Organisation | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.identity.data == ANONYMOUS

    def validate(self, extra_validators: Any = None) -> bool:
        # An anonymous complaint keeps no identity: whatever was typed in the (hidden) name
        # and e-mail fields is dropped before anything is checked or stored.
        if self.identity.data == ANONYMOUS:
            self.name.data = self.email.data = None
        return super().validate(extra_validators)

    def validate_mediator_reference(self, field: StringField) -> None:
        if self.subject.data != Subject.MEDIATOR:
            return
        if not field.data:
            raise ValidationError(_("Enter the mediator's certificate number or profile id."))
        found = verify_certificate(self._session, field.data, self._today) or verify_mediator(
            self._session, field.data, self._today
        )
        if found is None:
            raise ValidationError(
                _(
                    "No mediator has the certificate number or profile id “%(reference)s”."
                    " Copy it from their profile page.",
                    reference=field.data,
                )
            )
        self.mediator = found.mediator

    def validate_program(self, field: SelectField) -> None:
        if self.subject.data != Subject.PROGRAM or not field.data:
            return
        kind, _colon, digits = field.data.partition(":")
        row_id = int(digits) if digits.isdigit() else None
        if kind == "p" and row_id is not None:
            program = self._session.get(Program, row_id)
            self.program_chosen = program if program is not None and program.is_recognised else None
            if self.program_chosen is not None:
                self.organisation_chosen = self.program_chosen.organisation
                return
        if kind == "o" and row_id is not None:
            self.organisation_chosen = self._session.get(Organisation, row_id)
            if self.organisation_chosen is not None:
                return
        raise ValidationError(_("Choose a program or organisation from the list."))

    def validate_name(self, field: StringField) -> None:
        if self.identity.data == NAMED and not field.data:
            raise ValidationError(_("Enter your name, or choose to file anonymously."))

    def validate_email(self, field: EmailField) -> None:
        if self.identity.data == NAMED and not field.data:
            raise ValidationError(
                _(
                    "Enter your e-mail address, so that we can tell you of each change,"
                    " or choose to file anonymously."
                )
            )
        if field.data:
            Email(message=_("Enter a valid e-mail address."))(self, field)


def program_choices(session: Session) -> dict[str, str]:
    """Return the select's options: each organisation, then its programs, by name."""
    choices = {NOT_NAMED: _("Not listed, or not sure")}
    for organisation in session.scalars(select(Organisation).order_by(Organisation.name)):
        choices[f"o:{organisation.id}"] = _(
            "%(organisation)s: the organisation", organisation=organisation.name
        )
        for program in organisation.programs:
            if program.withdrawn_on is None:
                choices[f"p:{program.id}"] = (
                    f"{organisation.name}: {program.name} ({program.program_type})"
                )
    return choices


# What a receipt code or secret may hold, as typed: letters, digits, spaces and dashes.
CODE_CHARACTERS = r"^[A-Za-z0-9 \-]*$"


class TrackForm(FlaskForm):
    receipt_code = StringField(
        _l("Receipt code"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter the receipt code.")),
            Length(max=64, message=_l("That is not a receipt code.")),
            Regexp(
                CODE_CHARACTERS, message=_l("A receipt code has letters, digits and dashes only.")
            ),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    secret = PasswordField(
        _l("Secret"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter the secret.")),
            Length(max=200, message=_l("That is not a secret from a receipt.")),
            Regexp(CODE_CHARACTERS, message=_l("A secret has letters, digits and dashes only.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Your reply"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Write your reply.")),
            Length(max=MAX_TEXT_LENGTH, message=at_most(MAX_TEXT_LENGTH)),
        ],
        render_kw={"rows": 4, "maxlength": MAX_TEXT_LENGTH},
    )
    attachments = _attachments(_l("Attachments (optional)"))


class EscalationForm(FlaskForm):
    reason = TextAreaField(
        _l("Why the response does not settle your complaint"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Say why you ask for escalation.")),
            Length(max=MAX_TEXT_LENGTH, message=at_most(MAX_TEXT_LENGTH)),
        ],
        render_kw={"rows": 3, "maxlength": MAX_TEXT_LENGTH},
    )


class WithdrawForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, I withdraw this complaint. I understand it is then closed for good."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you withdraw it."))],
    )


class ForgetForm(FlaskForm):
    """Only the CSRF token: forgetting the complaint on this device."""
