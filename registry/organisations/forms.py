"""The directory's filters, the review forms, and the organisation account and dashboard forms."""

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
from registry.organisations.dashboard import SORTS, Bucket, DashboardFilter, step_key
from registry.organisations.models import AccountType, Program, ProgramType
from registry.organisations.queries import ACCOUNT_TYPE_LABELS, DirectoryOptions
from registry.organisations.services import MAX_REASON_LENGTH, MAX_REVIEW_LENGTH
from registry.reference import COUNTRIES, country_name


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
        "Page",
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100_000, message="No such page.")],
    )


def _by_name(codes: list[str]) -> dict[str, str]:
    return dict(sorted(((code, country_name(code)) for code in codes), key=lambda c: c[1]))


# Short enough for a select box; the full names are on each profile.
PROGRAM_CHOICE_LABELS = {
    ProgramType.CMTP: "CMTP (training)",
    ProgramType.QAP: "QAP (assessment)",
    ProgramType.MAQAP: "MAQAP (mediation advocacy)",
    ProgramType.ICQAP: "ICQAP (intercultural)",
    ProgramType.ODRQAP: "ODRQAP (online dispute resolution)",
}


class DirectoryForm(PageForm):
    """Filters of the public directory; only values in use are offered, any valid one is taken.

    A bookmarked filter naming a real country with no organisation finds none; an unknown code
    is an error.
    """

    q = StringField("Name", validators=[Optional(), Length(max=100)], filters=[_strip])
    country = SelectField(
        "Head office", validate_choice=False, validators=[Optional()], filters=[_upper]
    )
    program = SelectField(
        "Program type", validate_choice=False, validators=[Optional()], filters=[_upper]
    )
    account = SelectField(
        "Account type", validate_choice=False, validators=[Optional()], filters=[_lower]
    )
    location = SelectField(
        "Delivers programs in", validate_choice=False, validators=[Optional()], filters=[_upper]
    )

    def __init__(self, *args: object, options: DirectoryOptions, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = {"": "Any country", **_by_name(options.countries)}
        self.program.choices = {
            "": "Any program",
            **{t.value: PROGRAM_CHOICE_LABELS[t] for t in options.program_types},
        }
        self.account.choices = {
            "": "Any account type",
            **{t.value: ACCOUNT_TYPE_LABELS[t] for t in options.account_types},
        }
        self.location.choices = {"": "Anywhere", **_by_name(options.locations)}

    def validate_country(self, field: SelectField) -> None:
        if field.data and field.data not in COUNTRIES:
            raise ValidationError(f"Unknown country code {field.data!r}.")

    def validate_location(self, field: SelectField) -> None:
        self.validate_country(field)

    def validate_program(self, field: SelectField) -> None:
        if field.data and field.data not in set(ProgramType):
            known = ", ".join(ProgramType)
            raise ValidationError(f"Unknown program type {field.data!r}; use one of {known}.")

    def validate_account(self, field: SelectField) -> None:
        if field.data and field.data not in set(AccountType):
            raise ValidationError(f"Unknown account type {field.data!r}; use qap1, qap2 or qap3.")


RATING_CHOICES = {
    "": "Choose a rating",
    "5": "5 (excellent)",
    "4": "4 (good)",
    "3": "3 (fair)",
    "2": "2 (poor)",
    "1": "1 (very poor)",
}


class ReviewForm(FlaskForm):
    rating = SelectField("Rating", choices=RATING_CHOICES, validate_choice=False)
    body = TextAreaField(
        "Your review",
        validators=[
            DataRequired(message="Write a few words about your experience."),
            Length(max=MAX_REVIEW_LENGTH, message=f"At most {MAX_REVIEW_LENGTH} characters."),
        ],
        description=(
            f"Shown publicly with your name; at most {MAX_REVIEW_LENGTH} characters. "
            "Leave out anything that identifies the parties of a mediation."
        ),
        filters=[_strip],
        render_kw={"rows": 5, "maxlength": MAX_REVIEW_LENGTH},
    )
    is_anonymous = BooleanField("Post as anonymous feedback without a name")

    def __init__(self, *args: object, can_post_anonymously: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.can_post_anonymously = can_post_anonymously

    def validate_rating(self, field: SelectField) -> None:
        if not field.data or field.data not in RATING_CHOICES:
            raise ValidationError("Choose a rating from 1 to 5.")

    def validate_is_anonymous(self, field: BooleanField) -> None:
        if field.data and not self.can_post_anonymously:
            raise ValidationError("Only registry support can post anonymous feedback.")


class HideReviewForm(FlaskForm):
    reason = TextAreaField(
        "Reason for hiding",
        validators=[
            DataRequired(message="Say why the review is hidden."),
            Length(max=MAX_REASON_LENGTH, message=f"At most {MAX_REASON_LENGTH} characters."),
        ],
        description="Staff see it; the public does not.",
        filters=[_strip],
        render_kw={"rows": 2},
    )


class RestoreReviewForm(FlaskForm):
    """Only the CSRF token: restoring needs no input."""


# -- Organisation accounts and the dashboard -------------------------------------------------


BUCKET_CHOICES = {bucket.value: bucket.label for bucket in Bucket}


class DashboardForm(PageForm):
    """The dashboard's filters and sort (a GET form); the choices are the organisation's own."""

    q = StringField("Name contains", validators=[Optional(), Length(max=100)], filters=[_strip])
    bucket = SelectField("Bucket", choices={"": "Every bucket", **BUCKET_CHOICES}, default="")
    program = SelectField("Program", default="")
    step = SelectField("Missing step", default="")
    sort = SelectField("Sort by", choices=SORTS, default="name")

    def __init__(
        self, *args: object, programs: list[Program], steps: list[str], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.program.choices = {
            "": "Every program",
            **{str(p.id): f"{p.name} ({p.program_type})" for p in programs},
        }
        self.step.choices = {"": "Any", **{step_key(label): label for label in steps}}

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
        "E-mail address of their account",
        validators=[DataRequired(), Email(), Length(max=254)],
        description="The person registers first; they get the organisation admin role here.",
        filters=[_strip],
    )


class LinkMediatorForm(FlaskForm):
    program_id = SelectField("Program", coerce=int, choices=[])
    mediator = StringField(
        "Mediator",
        validators=[
            DataRequired(message="Give a public id or an e-mail address."),
            Length(max=254),
        ],
        description="Their public id (M…) or the e-mail address of their profile.",
        filters=[_strip],
    )
    linked_on = DateField("Linked since", validators=[DataRequired()])

    def __init__(self, *args: object, programs: list[Program], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.program_id.choices = {p.id: f"{p.name} ({p.program_type})" for p in programs}


class LinkFilterForm(PageForm):
    q = StringField("Mediator's name", validators=[Optional(), Length(max=100)], filters=[_strip])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: removing an administrator or a link, sending a reminder."""
