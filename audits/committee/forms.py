"""Forms of the Appraisal Committee page, the appraisers' declarations and the chair's choices."""

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from audits.committee.services import MAX_DETAILS_LENGTH, MAX_REASON_LENGTH
from registry.accounts.models import User
from registry.accounts.services import find_user
from registry.extensions import db
from registry.i18n import _l


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class PersonForm(FlaskForm):
    """An account named by its e-mail address: a chair to appoint, a member to add."""

    email = EmailField(
        _l("E-mail address of their account"),
        validators=[
            DataRequired(message=_l("Give the e-mail address of their account.")),
            Email(message=_l("This is not an e-mail address.")),
            Length(max=254),
        ],
        filters=[_strip],
    )

    def __init__(self, *args: object, description: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.email.description = description
        self.user: User | None = None

    def validate_email(self, field: EmailField) -> None:
        if field.errors:  # not an address: nothing to look up
            return
        self.user = find_user(db.session, field.data)
        if self.user is None:
            raise ValidationError(
                _("There is no account with the e-mail address %(email)s.", email=field.data)
            )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: taking a member out of a pool."""


# The code of conduct's wording, as the appraiser ticks it.
KIND_LABELS = {
    "relationship": _l(
        "I am part of a relationship with the organisation, or have activities, that would "
        "prevent an impartial appraisal"
    ),
    "gifts": _l(
        "I have been offered or have accepted gifts, cash or services from the organisation "
        "that could influence my impartiality"
    ),
    "prior_work": _l(
        "I have worked for the organisation, or offered it my expertise, time or side activities"
    ),
    "other": _l(
        "Another interest, influence or relation could put my professional judgement, "
        "impartiality or objectivity in danger"
    ),
}


class DeclarationForm(FlaskForm):
    """The conflict-of-interest declaration: "no conflict" is ticked explicitly."""

    relationship = BooleanField(KIND_LABELS["relationship"])
    gifts = BooleanField(KIND_LABELS["gifts"])
    prior_work = BooleanField(KIND_LABELS["prior_work"])
    other = BooleanField(KIND_LABELS["other"])
    details = TextAreaField(
        _l("Details of the conflict"),
        validators=[
            Length(
                max=MAX_DETAILS_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_DETAILS_LENGTH),
            )
        ],
        description=_l(
            "What the relationship, offer or work is and since when. Only the subcommittee's "
            "chair reads it."
        ),
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_DETAILS_LENGTH},
    )
    no_conflict = BooleanField(
        _l("I declare that I have no conflict of interest with this organisation")
    )


class AssignForm(FlaskForm):
    appraiser_id = SelectField(_l("Appraiser"), coerce=int, validate_choice=False)

    def __init__(self, *args: object, appraisers: list[User], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.appraiser_id.choices = {
            0: _("Choose an appraiser"),
            **{user.id: f"{user.name} ({user.email})" for user in appraisers},
        }

    def validate_appraiser_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError(_("Choose an appraiser."))


class RemoveForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for removing"),
        validators=[
            DataRequired(message=_l("Say why the appraiser is removed.")),
            Length(
                max=MAX_REASON_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_REASON_LENGTH),
            ),
        ],
        description=_l("The appraiser receives it by e-mail; it is kept in the event log."),
        filters=[_strip],
        render_kw={"rows": 2},
    )
