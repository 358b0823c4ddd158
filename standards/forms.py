"""Forms of the standard-setting pages: proposals, the Board's decisions, the taskforce's work."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from registry.accounts.models import User
from registry.digests.forms import MultiCheckboxField
from registry.fields import DateField
from registry.i18n import _l, choices
from registry.organisations.models import ProgramType
from standards.models import (
    FOUNDING_KIND_LABELS,
    STANDARD_KIND_LABELS,
    VERDICT_LABELS,
)
from standards.services import MAX_REASON_LENGTH, MAX_TEXT_LENGTH, MAX_TITLE_LENGTH


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _length(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(limit)s characters.", limit=limit))


def _text(label: object, message: object, limit: int = MAX_TEXT_LENGTH, **kwargs: object):  # type: ignore[no-untyped-def]
    return TextAreaField(
        label,
        validators=[DataRequired(message=message), _length(limit)],
        filters=[_strip],
        **kwargs,
    )


class ProposalForm(FlaskForm):
    """Step 1: a proposed standard."""

    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Give the standard a title.")),
            _length(MAX_TITLE_LENGTH),
        ],
        filters=[_strip],
    )
    purpose = _text(
        _l("Purpose"),
        _l("Say what the standard is for."),
        description=_l("What the standard is for, and why the registry needs it."),
    )
    scope = _text(
        _l("Scope"),
        _l("Say what the standard covers."),
        description=_l("Whom and what it would apply to: programs, mediators, appraisers…"),
    )


class AcceptProposalForm(FlaskForm):
    """The Board accepts a proposal: the new standard's code, kind and program types."""

    code = StringField(
        _l("Code of the standard"),
        validators=[DataRequired(message=_l("Give the standard a code.")), _length(12)],
        filters=[_strip],
        description=_l(
            "2 to 12 capital letters or digits, e.g. ODRE. Its rules are numbered ODRE-1, ODRE-2…"
            " The code never changes."
        ),
    )
    kind = RadioField(
        _l("Kind"),
        choices=choices(STANDARD_KIND_LABELS),
        validators=[DataRequired(message=_l("Choose the kind of standard."))],
    )
    program_types = MultiCheckboxField(
        _l("Program types it judges"),
        choices=choices({t.value: t.value for t in ProgramType}),
        description=_l("May be none (e.g. for guidance)."),
    )


class ReasonForm(FlaskForm):
    """A decline, with the Board's reason."""

    reason = _text(_l("Reason"), _l("Give the reason."), MAX_REASON_LENGTH)


class ActionForm(FlaskForm):
    """A button that only needs the CSRF and one-time tokens."""


class EndMembershipForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"), validators=[_length(MAX_REASON_LENGTH)], filters=[_strip]
    )


class AppointForm(FlaskForm):
    """The Board appoints a committee member to a taskforce."""

    user_id = SelectField(_l("Committee member"), coerce=int, validate_choice=False)
    is_chair = BooleanField(_l("Chair of the taskforce"))
    term_starts_on = DateField(
        _l("Term starts on"), validators=[DataRequired(message=_l("Give the term's first day."))]
    )
    term_ends_on = DateField(
        _l("Term ends on"), validators=[DataRequired(message=_l("Give the term's last day."))]
    )

    def __init__(self, *args: object, candidates: list[User], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user_id.choices = [(user.id, f"{user.name} ({user.email})") for user in candidates]


class RuleForm(FlaskForm):
    body = _text(_l("Text of the rule"), _l("Write the rule."))


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[DataRequired()])


class SummaryForm(FlaskForm):
    change_summary = TextAreaField(
        _l("What changed"),
        validators=[_length(MAX_TEXT_LENGTH)],
        filters=[_strip],
        description=_l(
            "Public once the version is published: what changed from the previous version, and why."
        ),
    )


class ConsultationForm(FlaskForm):
    closes_on = DateField(
        _l("Last day for comments"),
        validators=[DataRequired(message=_l("Give the last day for comments."))],
    )


class AnswerForm(FlaskForm):
    """The taskforce answers a group of comments of one consultation."""

    consultation_id = HiddenField(validators=[DataRequired()])
    comment_ids = MultiCheckboxField(_l("Comments answered"), coerce=int, validate_choice=False)
    verdict = RadioField(
        _l("Verdict"),
        choices=choices(VERDICT_LABELS),
        validators=[DataRequired(message=_l("Choose a verdict."))],
    )
    body = _text(_l("Answer, and why"), _l("Write the answer."))


class FoundingForm(FlaskForm):
    kind = RadioField(
        _l("The standard would found"),
        choices=choices(FOUNDING_KIND_LABELS),
        validators=[DataRequired(message=_l("Choose what the standard would found."))],
    )
    code = StringField(
        _l("Code"),
        validators=[DataRequired(message=_l("Give a code.")), _length(16)],
        filters=[_strip],
        description=_l(
            "A specialisation: lower case, e.g. sports. A program type: capitals, e.g. CCQAP."
        ),
    )
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give a name.")), _length(100)],
        filters=[_strip],
    )
    rationale = _text(_l("Rationale"), _l("Say why."))
