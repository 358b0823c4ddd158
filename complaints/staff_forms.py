"""Forms of the handlers' complaint page and of the committees page."""

from collections.abc import Sequence

from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from complaints.committees import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from complaints.forms import at_most
from complaints.models import Committee, ConductOutcome
from complaints.services import ALL_CERTIFICATIONS, MAX_REASON_LENGTH, MAX_TEXT_LENGTH
from registry.accounts.models import User
from registry.accounts.services import find_user
from registry.extensions import db
from registry.i18n import _l
from registry.mediators.models import Certification

CONDUCT_OUTCOME_LABELS = {
    ConductOutcome.NO_ACTION: _l("No action on the certification"),
    ConductOutcome.SUSPEND: _l("Suspend the certification"),
    ConductOutcome.REVOKE: _l("Revoke the certification"),
}


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _text(
    label: LazyString, missing: LazyString, description: LazyString, rows: int = 4
) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            DataRequired(message=missing),
            Length(max=MAX_TEXT_LENGTH, message=at_most(MAX_TEXT_LENGTH)),
        ],
        description=description,
        filters=[_strip],
        render_kw={"rows": rows, "maxlength": MAX_TEXT_LENGTH},
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: acknowledging a complaint."""


class MessageForm(FlaskForm):
    body = _text(
        _l("Message to the complainant"),
        _l("Write the message."),
        _l(
            "The complainant reads it on the tracking page and is told by e-mail if they gave an"
            " address."
        ),
    )


class RespondForm(FlaskForm):
    body = _text(
        _l("Response"),
        _l("Write the response."),
        _l(
            "This level's answer. The complainant may then ask for the complaint to go to the"
            " next level."
        ),
        rows=6,
    )


class EscalateForm(FlaskForm):
    reason = _text(
        _l("Reason for escalating"),
        _l("Say why the complaint goes to the next level."),
        _l("The complainant and the next level's handlers read it."),
        rows=3,
    )


class _ClosingForm(FlaskForm):
    """A written outcome and, on the conduct process, what happens to the certification."""

    conduct_outcome = SelectField(
        _l("Outcome for the certification"),
        # Choices as SelectChoice: a dict of lazy labels would be read as option groups.
        choices=[
            SelectChoice("", _l("Choose an outcome")),
            *(
                SelectChoice(outcome.value, label)
                for outcome, label in CONDUCT_OUTCOME_LABELS.items()
            ),
        ],
        description=_l("A suspension or a revocation takes effect today and is shown publicly."),
    )
    # Shown only when the person holds several live certifications (see ``__init__``).
    conduct_certificate = SelectField(
        _l("Certification it applies to"),
        choices={},
        validate_choice=False,  # the service checks it against the register
        description=_l("A person certified as mediator and as advocate answers for each."),
    )
    public_reason = TextAreaField(
        _l("Public reason"),
        validators=[Length(max=MAX_REASON_LENGTH, message=at_most(MAX_REASON_LENGTH))],
        description=_l("Shown on the register beside the mediator's status."),
        filters=[_strip],
        render_kw={"rows": 2, "maxlength": MAX_REASON_LENGTH},
    )

    def __init__(
        self,
        *args: object,
        conduct: bool,
        certificates: Sequence[Certification] = (),
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not conduct:
            del self.conduct_outcome
            del self.conduct_certificate
            del self.public_reason
            return
        held = certificates
        self.conduct_certificate.choices = {
            "": _("Choose the certification"),
            **{c.certificate_number: f"{c.type_label} {c.certificate_number}" for c in held},
            ALL_CERTIFICATIONS: _("All the certifications they hold"),
        }
        self.is_choosing_certificate = len(certificates) > 1

    def validate_conduct_outcome(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError(_("Choose what happens to the certification."))

    def validate_public_reason(self, field: TextAreaField) -> None:
        changes = {ConductOutcome.SUSPEND.value, ConductOutcome.REVOKE.value}
        if self.conduct_outcome.data in changes and not field.data:
            raise ValidationError(
                _("Give the reason shown publicly with the suspension or revocation.")
            )

    @property
    def chosen_outcome(self) -> ConductOutcome | None:
        """Return the conduct outcome chosen, or None when the form has none."""
        field = getattr(self, "conduct_outcome", None)
        return ConductOutcome(field.data) if field is not None and field.data else None

    @property
    def chosen_certificate(self) -> str | None:
        field = getattr(self, "conduct_certificate", None)
        return (field.data or None) if field is not None else None

    @property
    def chosen_reason(self) -> str | None:
        field = getattr(self, "public_reason", None)
        return (field.data or None) if field is not None else None


class ResolveForm(_ClosingForm):
    outcome = _text(
        _l("Written outcome"),
        _l("Write the outcome."),
        _l("Closes the complaint. The complainant reads it on the tracking page."),
        rows=6,
    )


class DecideForm(_ClosingForm):
    decision = _text(
        _l("The Board's decision"),
        _l("Write the decision."),
        _l("Final: the complaint is closed and cannot be escalated again."),
        rows=6,
    )


class PersonForm(FlaskForm):
    """An account named by its e-mail address: a member to seat on a committee."""

    email = EmailField(
        _l("E-mail address of their account"),
        validators=[
            DataRequired(message=_l("Give the e-mail address of their account.")),
            Email(message=_l("This is not an e-mail address.")),
            Length(max=254),
        ],
        description=_l("The account must hold the committee member role."),
        filters=[_strip],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user: User | None = None

    def validate_email(self, field: EmailField) -> None:
        if field.errors:  # not an address: nothing to look up
            return
        self.user = find_user(db.session, field.data)
        if self.user is None:
            raise ValidationError(
                _("There is no account with the e-mail address %(email)s.", email=field.data)
            )


class CommitteeForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Give the committee a name.")),
            Length(max=MAX_NAME_LENGTH, message=at_most(MAX_NAME_LENGTH)),
        ],
        filters=[_strip],
    )
    description = TextAreaField(
        _l("What it handles"),
        validators=[Length(max=MAX_DESCRIPTION_LENGTH, message=at_most(MAX_DESCRIPTION_LENGTH))],
        filters=[_strip],
        render_kw={"rows": 2},
    )


class RouteForm(FlaskForm):
    committee_id = SelectField(_l("Committee or taskforce"), coerce=int, validate_choice=False)

    def __init__(self, *args: object, committees: list[Committee], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.committee_id.choices = {c.id: c.name for c in committees}

    def validate_committee_id(self, field: SelectField) -> None:
        self.committee = db.session.get(Committee, field.data) if field.data else None
        if self.committee is None:
            raise ValidationError(_("Choose a committee or taskforce."))
