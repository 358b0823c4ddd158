"""The directory's filters, the review forms, and the organisation account and dashboard forms."""

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from registry.fields import DateField
from registry.i18n import _l, choices
from registry.mediators.checklist import step_text
from registry.organisations.dashboard import (
    BUCKET_LABELS,
    SORTS,
    Bucket,
    DashboardFilter,
    step_key,
)
from registry.organisations.models import AccountType, Program, ProgramType
from registry.organisations.queries import ACCOUNT_TYPE_LABELS, DirectoryOptions
from registry.organisations.services import MAX_REASON_LENGTH, MAX_REVIEW_LENGTH
from registry.reference import COUNTRIES, by_name, country_name


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else value


def _lower(value: str | None) -> str | None:
    return value.strip().lower() if value else value


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class PageForm(FlaskForm):
    """A page number in the query string (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    page = IntegerField(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("No such page."))],
    )


def _by_name(codes: list[str]) -> dict[str, str]:
    return dict(by_name((code, country_name(code)) for code in codes))


# Short enough for a select box; the full names are on each profile.
PROGRAM_CHOICE_LABELS = {
    ProgramType.CMTP: _l("CMTP (training)"),
    ProgramType.QAP: _l("QAP (assessment)"),
    ProgramType.MAQAP: _l("MAQAP (mediation advocacy)"),
    ProgramType.ICQAP: _l("ICQAP (intercultural)"),
    ProgramType.ODRQAP: _l("ODRQAP (online dispute resolution)"),
}


class DirectoryForm(PageForm):
    """Filters of the public directory; only values in use are offered, any valid one is taken.

    A bookmarked filter naming a real country with no organisation finds none; an unknown code
    is an error.
    """

    q = StringField(_l("Name"), validators=[Optional(), Length(max=100)], filters=[_strip])
    country = SelectField(
        _l("Head office"), validate_choice=False, validators=[Optional()], filters=[_upper]
    )
    program = SelectField(
        _l("Program type"), validate_choice=False, validators=[Optional()], filters=[_upper]
    )
    account = SelectField(
        _l("Account type"), validate_choice=False, validators=[Optional()], filters=[_lower]
    )
    location = SelectField(
        _l("Delivers programs in"), validate_choice=False, validators=[Optional()], filters=[_upper]
    )

    def __init__(self, *args: object, options: DirectoryOptions, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = {"": _("Any country"), **_by_name(options.countries)}
        self.program.choices = {
            "": _("Any program"),
            **{t.value: str(PROGRAM_CHOICE_LABELS[t]) for t in options.program_types},
        }
        self.account.choices = {
            "": _("Any account type"),
            **{t.value: str(ACCOUNT_TYPE_LABELS[t]) for t in options.account_types},
        }
        self.location.choices = {"": _("Anywhere"), **_by_name(options.locations)}

    def validate_country(self, field: SelectField) -> None:
        if field.data and field.data not in COUNTRIES:
            raise ValidationError(_("Unknown country code %(code)r.", code=field.data))

    def validate_location(self, field: SelectField) -> None:
        self.validate_country(field)

    def validate_program(self, field: SelectField) -> None:
        if field.data and field.data not in set(ProgramType):
            known = ", ".join(ProgramType)
            raise ValidationError(
                _(
                    "Unknown program type %(type)r; use one of %(known)s.",
                    type=field.data,
                    known=known,
                )
            )

    def validate_account(self, field: SelectField) -> None:
        if field.data and field.data not in set(AccountType):
            raise ValidationError(
                _("Unknown account type %(type)r; use qap1, qap2 or qap3.", type=field.data)
            )


RATING_CHOICES = {
    "": _l("Choose a rating"),
    "5": _l("5 (excellent)"),
    "4": _l("4 (good)"),
    "3": _l("3 (fair)"),
    "2": _l("2 (poor)"),
    "1": _l("1 (very poor)"),
}


class ReviewForm(FlaskForm):
    rating = SelectField(_l("Rating"), validate_choice=False)  # choices: on making the form
    body = TextAreaField(
        _l("Your review"),
        validators=[
            DataRequired(message=_l("Write a few words about your experience.")),
            Length(
                max=MAX_REVIEW_LENGTH,
                message=_l("At most %(num)s characters.", num=MAX_REVIEW_LENGTH),
            ),
        ],
        description=_l(
            "Shown publicly with your name; at most %(num)s characters. "
            "Leave out anything that identifies the parties of a mediation.",
            num=MAX_REVIEW_LENGTH,
        ),
        filters=[_strip],
        render_kw={"rows": 5, "maxlength": MAX_REVIEW_LENGTH},
    )
    is_anonymous = BooleanField(_l("Post as anonymous feedback without a name"))

    def __init__(self, *args: object, can_post_anonymously: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.rating.choices = choices(RATING_CHOICES)
        self.can_post_anonymously = can_post_anonymously

    def validate_rating(self, field: SelectField) -> None:
        if not field.data or field.data not in RATING_CHOICES:
            raise ValidationError(_("Choose a rating from 1 to 5."))

    def validate_is_anonymous(self, field: BooleanField) -> None:
        if field.data and not self.can_post_anonymously:
            raise ValidationError(_("Only registry support can post anonymous feedback."))


class HideReviewForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for hiding"),
        validators=[
            DataRequired(message=_l("Say why the review is hidden.")),
            Length(
                max=MAX_REASON_LENGTH,
                message=_l("At most %(num)s characters.", num=MAX_REASON_LENGTH),
            ),
        ],
        description=_l("Staff see it; the public does not."),
        filters=[_strip],
        render_kw={"rows": 2},
    )


class RestoreReviewForm(FlaskForm):
    """Only the CSRF token: restoring needs no input."""


# -- Organisation accounts and the dashboard -------------------------------------------------


BUCKET_CHOICES = {bucket.value: BUCKET_LABELS[bucket] for bucket in Bucket}


class DashboardForm(PageForm):
    """The dashboard's filters and sort (a GET form); the choices are the organisation's own."""

    q = StringField(_l("Name contains"), validators=[Optional(), Length(max=100)], filters=[_strip])
    bucket = SelectField(_l("Bucket"), default="")
    program = SelectField(_l("Program"), default="")
    step = SelectField(_l("Missing step"), default="")
    sort = SelectField(_l("Sort by"), default="name")

    def __init__(
        self, *args: object, programs: list[Program], steps: list[str], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.program.choices = {
            "": _("Every program"),
            **{str(p.id): f"{p.name} ({p.program_type})" for p in programs},
        }
        self.bucket.choices = choices(BUCKET_CHOICES, blank=_("Every bucket"))
        self.sort.choices = choices(SORTS)
        self.step.choices = {"": _("Any"), **{step_key(label): step_text(label) for label in steps}}

    def wanted(self) -> DashboardFilter:
        """Return the filter the (validated) form describes."""
        return DashboardFilter(
            bucket=Bucket(self.bucket.data) if self.bucket.data else None,
            program_id=int(self.program.data) if self.program.data else None,
            step=self.step.data or None,
            name=self.q.data or None,
            sort=self.sort.data or "name",
        )


class AddAdminForm(FlaskForm):
    email = EmailField(
        _l("E-mail address of their account"),
        validators=[DataRequired(), Email(), Length(max=254)],
        description=_l("The person registers first; they get the organisation admin role here."),
        filters=[_strip],
    )


class LinkMediatorForm(FlaskForm):
    program_id = SelectField(_l("Program"), coerce=int, choices=[])
    mediator = StringField(
        _l("Mediator"),
        validators=[
            DataRequired(message=_l("Give a public id or an e-mail address.")),
            Length(max=254),
        ],
        description=_l("Their public id (M…) or the e-mail address of their profile."),
        filters=[_strip],
    )
    linked_on = DateField(_l("Linked since"), validators=[DataRequired()])

    def __init__(self, *args: object, programs: list[Program], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.program_id.choices = {p.id: f"{p.name} ({p.program_type})" for p in programs}


class LinkFilterForm(PageForm):
    q = StringField(
        _l("Mediator's name"), validators=[Optional(), Length(max=100)], filters=[_strip]
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: removing an administrator or a link, sending a reminder."""
