"""Forms of the public standards pages: commenting, moderation, 360 feedback and its answer."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, StopValidation

from registry.accounts.services import normalise_email
from registry.i18n import _l
from standards.comments import (
    MAX_COMMENT_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    Signature,
)
from standards.feedback import (
    MAX_ACKNOWLEDGEMENT_LENGTH,
    MAX_FEEDBACK_LENGTH,
    MAX_INITIATIVE_LENGTH,
)
from standards.models import FEEDBACK_SUBJECT_LABELS, FeedbackSubject

WHOLE_DRAFT = ""
SIGNATURE_LABELS = {
    Signature.ACCOUNT: _l("With my account's name"),
    Signature.EMAIL: _l("With my name and e-mail address"),
    Signature.ANONYMOUS: _l("Anonymously"),
}


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _signatures(signed_in: bool) -> list[SelectChoice]:
    kinds = list(Signature) if signed_in else [Signature.EMAIL, Signature.ANONYMOUS]
    return [SelectChoice(kind.value, SIGNATURE_LABELS[kind]) for kind in kinds]


class _Signed(FlaskForm):
    """How the author signs: the fields both commenting and 360 feedback share."""

    signature = RadioField(
        _l("How do you sign?"),
        validators=[DataRequired(message=_l("Choose how to sign."))],
    )
    name = StringField(
        _l("Your name"),
        filters=[_strip],
        validators=[Length(max=MAX_NAME_LENGTH)],
        render_kw={"autocomplete": "name", "maxlength": MAX_NAME_LENGTH},
    )
    email = EmailField(
        _l("Your e-mail address"),
        filters=[_strip],
        validators=[Length(max=254)],
        render_kw={"autocomplete": "email", "maxlength": 254},
    )

    # Plain input checks, here so that the field is marked; the services check again.
    def validate_name(self, field: Field) -> None:
        if self.signature.data == Signature.EMAIL and not field.data:
            raise StopValidation(_("%(what)s cannot be empty.", what=_("Your name")))

    def validate_email(self, field: Field) -> None:
        if self.signature.data != Signature.EMAIL:
            return
        if not field.data:
            raise StopValidation(_("Give an e-mail address, or write anonymously."))
        try:
            validate_email(normalise_email(field.data), check_deliverability=False)
        except EmailNotValidError:
            raise StopValidation(
                _("%(email)s is not a valid e-mail address.", email=repr(field.data))
            ) from None

    def __init__(self, *args: object, signed_in: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.signature.choices = _signatures(signed_in)
        if not self.signature.data:
            self.signature.data = Signature.ACCOUNT if signed_in else Signature.EMAIL


class CommentForm(_Signed):
    rule_code = SelectField(_l("Your comment is on"), default=WHOLE_DRAFT)
    body = TextAreaField(
        _l("Your comment"),
        validators=[
            DataRequired(message=_l("Write your comment.")),
            Length(max=MAX_COMMENT_LENGTH, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"rows": 6, "maxlength": MAX_COMMENT_LENGTH},
    )

    def __init__(
        self, *args: object, rule_codes: list[str], signed_in: bool, **kwargs: object
    ) -> None:
        super().__init__(*args, signed_in=signed_in, **kwargs)
        self.rule_code.choices = [SelectChoice(WHOLE_DRAFT, _l("The whole draft"))] + [
            SelectChoice(code, _l("Rule %(code)s", code=code)) for code in rule_codes
        ]


class HideCommentForm(FlaskForm):
    reason = StringField(
        _l("Reason for hiding (shown publicly in its place)"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Give the reason the public will read.")),
            Length(max=MAX_REASON_LENGTH),
        ],
        render_kw={"maxlength": MAX_REASON_LENGTH},
    )


class ConfirmCommentForm(FlaskForm):
    """The button that confirms a comment named by e-mail (the token is in the address)."""


class FeedbackForm(_Signed):
    subject = RadioField(
        _l("What is your feedback about?"),
        choices=[
            SelectChoice(subject.value, FEEDBACK_SUBJECT_LABELS[subject])
            for subject in FeedbackSubject
        ],
        validators=[DataRequired(message=_l("Choose what your feedback is about."))],
    )
    standard = SelectField(_l("Which standard"), default="")
    program = SelectField(_l("Which program"), default="")
    initiative = StringField(
        _l("Which initiative of the registry"),
        filters=[_strip],
        description=_l("For example: the annual conference, the new fee scale, this website."),
        validators=[Length(max=MAX_INITIATIVE_LENGTH)],
        render_kw={"maxlength": MAX_INITIATIVE_LENGTH},
    )
    body = TextAreaField(
        _l("Your feedback"),
        validators=[
            DataRequired(message=_l("Write your feedback.")),
            Length(max=MAX_FEEDBACK_LENGTH, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"rows": 8, "maxlength": MAX_FEEDBACK_LENGTH},
    )

    def validate_standard(self, field: Field) -> None:
        if self.subject.data == FeedbackSubject.STANDARD and not field.data:
            raise StopValidation(_("Choose the standard your feedback is about."))

    def validate_program(self, field: Field) -> None:
        if self.subject.data == FeedbackSubject.PROGRAM and not field.data:
            raise StopValidation(_("Choose the recognised program your feedback is about."))

    def validate_initiative(self, field: Field) -> None:
        if self.subject.data == FeedbackSubject.INITIATIVE and not field.data:
            raise StopValidation(_("%(what)s cannot be empty.", what=_("The initiative")))

    def __init__(
        self,
        *args: object,
        standards: list[tuple[str, str]],
        programs: list[tuple[str, str]],
        signed_in: bool,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, signed_in=signed_in, **kwargs)
        self.standard.choices = [SelectChoice("", _l("Choose a standard"))] + [
            SelectChoice(value, label) for value, label in standards
        ]
        self.program.choices = [SelectChoice("", _l("Choose a program"))] + [
            SelectChoice(value, label) for value, label in programs
        ]


class AcknowledgeForm(FlaskForm):
    message = TextAreaField(
        _l("Your acknowledgement"),
        description=_l(
            "A named sender receives it by e-mail; an anonymous one cannot be written to."
        ),
        validators=[
            DataRequired(message=_l("Write a short acknowledgement.")),
            Length(max=MAX_ACKNOWLEDGEMENT_LENGTH),
        ],
        render_kw={"rows": 4, "maxlength": MAX_ACKNOWLEDGEMENT_LENGTH},
    )
