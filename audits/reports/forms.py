"""Forms of the report page: the report itself, the chair's return and sign-off, notes."""

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from audits.models import AuditFinding, AuditKind, AuditReport, Rating, Recommendation
from audits.reports.services import (
    MAX_COMMENTS_LENGTH,
    MAX_DEVIATION_LENGTH,
    MAX_DEVIATIONS,
    MAX_EVIDENCE_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SECTION_LENGTH,
)
from registry.i18n import _l
from standards.queries import StandardSet

# Empty deviation rows offered under the filled ones, for adding more without scripts.
BLANK_DEVIATION_ROWS = 3


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _length(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(limit)s characters.", limit=limit))


def _section(label: LazyString, description: LazyString) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[_length(MAX_SECTION_LENGTH)],
        description=description,
        filters=[_strip],
        render_kw={"rows": 5, "maxlength": MAX_SECTION_LENGTH},
    )


class FindingForm(Form):
    """The finding on one criterion (the criterion's code travels in a hidden field)."""

    criterion = HiddenField()
    rating = SelectField(_l("Rating"), validate_choice=False)
    evidence = TextAreaField(
        _l("Evidence"),
        validators=[_length(MAX_EVIDENCE_LENGTH)],
        filters=[_strip],
        render_kw={"rows": 3, "maxlength": MAX_EVIDENCE_LENGTH},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.rating.choices = {"": _("Not rated yet"), **{r.value: r.label for r in Rating}}

    def validate_rating(self, field: SelectField) -> None:
        if field.data and field.data not in set(Rating):
            raise ValidationError(_("Choose met, partly met or not met."))

    def validate_evidence(self, field: TextAreaField) -> None:
        if field.data and not self.rating.data:
            raise ValidationError(_("Choose a rating as well, so that the evidence can be kept."))


class DeviationForm(Form):
    """One deviation: the rule it breaks (choices set by ``ReportForm``) and what happened."""

    rule = SelectField(_l("Rule broken"), validate_choice=False)
    description = TextAreaField(
        _l("What deviates from the rule"),
        validators=[_length(MAX_DEVIATION_LENGTH)],
        filters=[_strip],
        render_kw={"rows": 2, "maxlength": MAX_DEVIATION_LENGTH},
    )

    @property
    def is_blank(self) -> bool:
        return not (self.rule.data or self.description.data)

    def validate_rule(self, field: SelectField) -> None:
        if field.data and field.data not in set(field.choices).difference({""}):
            raise ValidationError(_("Choose one of the rules listed."))
        if not field.data and self.description.data:
            raise ValidationError(_("Choose the rule this deviation breaks."))

    def validate_description(self, field: TextAreaField) -> None:
        if self.rule.data and not field.data:
            raise ValidationError(_("Describe the deviation."))


def _finding_row(code: str, finding: AuditFinding | None) -> dict[str, str]:
    if finding is None:
        return {"criterion": code, "rating": "", "evidence": ""}
    return {"criterion": code, "rating": finding.rating, "evidence": finding.evidence}


class ReportForm(FlaskForm):
    """The whole report, saved as a draft or submitted: one finding row per criterion."""

    findings = FieldList(FormField(FindingForm), max_entries=50)
    deviations = FieldList(FormField(DeviationForm), max_entries=MAX_DEVIATIONS * 2)
    strengths = _section(_l("Strengths"), _l("What the program does well, for the committee."))
    weaknesses = _section(
        _l("Weaknesses"), _l("What the program should improve, for the committee.")
    )
    summary = _section(
        _l("Summary for the organisation"),
        _l(
            "The organisation reads this with the outcome once the chair signs off; it sees "
            "nothing else of the report."
        ),
    )
    recommendation = RadioField(_l("Recommendation"), validate_choice=False)
    conditions = _section(
        _l("Conditions"),
        _l(
            "Only when recommending to renew with conditions: what the organisation must do, "
            "and by when. The organisation reads them with the outcome."
        ),
    )

    def __init__(
        self, *args: object, standards: StandardSet, kind: str = AuditKind.CYCLE, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.recommendation.choices = {item.value: item.label_for(kind) for item in Recommendation}
        self.criteria = {criterion.code: criterion for criterion in standards.criteria}
        self.rule_choices = {
            "": _("Choose the rule"),
            **{rule.code: f"{rule.code}: {rule.title}" for rule in standards.rules},
        }
        for entry in self.deviations:
            entry.form.rule.choices = self.rule_choices

    @classmethod
    def of_report(
        cls, report: AuditReport | None, *, standards: StandardSet, kind: str = AuditKind.CYCLE
    ) -> "ReportForm":
        """Return the form filled with the saved draft, or empty."""
        findings = {finding.criterion: finding for finding in report.findings} if report else {}
        data = {
            "findings": [
                _finding_row(criterion.code, findings.get(criterion.code))
                for criterion in standards.criteria
            ],
            "deviations": [
                {"rule": deviation.rule, "description": deviation.description}
                for deviation in (report.deviations if report else [])
            ],
        }
        if report is not None:
            for name in ("strengths", "weaknesses", "summary", "recommendation", "conditions"):
                data[name] = getattr(report, name)
        return cls(formdata=None, data=data, standards=standards, kind=kind)

    def add_blank_rows(self) -> None:
        """Offer ``BLANK_DEVIATION_ROWS`` empty deviation rows below the filled ones."""
        blank = sum(1 for entry in self.deviations if entry.form.is_blank)
        for _row in range(BLANK_DEVIATION_ROWS - blank):
            self.deviations.append_entry().form.rule.choices = self.rule_choices

    def validate_recommendation(self, field: RadioField) -> None:
        if field.data and field.data not in set(Recommendation):
            raise ValidationError(_("Choose one of the recommendations listed."))

    def findings_data(self) -> dict[str, tuple[str | None, str]]:
        """Return the findings as the services take them: code -> (rating or None, evidence)."""
        return {
            entry.form.criterion.data: (
                entry.form.rating.data or None,
                entry.form.evidence.data or "",
            )
            for entry in self.findings
        }

    def deviations_data(self) -> list[tuple[str, str]]:
        """Return the filled deviation rows as (rule, description); blank rows are dropped."""
        return [
            (entry.form.rule.data or "", entry.form.description.data or "")
            for entry in self.deviations
            if not entry.form.is_blank
        ]

    def texts(self) -> dict[str, str | None]:
        """Return the report's free texts and recommendation, as the services take them."""
        return {
            "strengths": self.strengths.data or "",
            "weaknesses": self.weaknesses.data or "",
            "summary": self.summary.data or "",
            "conditions": self.conditions.data or "",
            "recommendation": self.recommendation.data or None,
        }


class ReturnForm(FlaskForm):
    comments = TextAreaField(
        _l("Comments for the appraisers"),
        validators=[
            DataRequired(message=_l("Say what the appraisers should revise.")),
            _length(MAX_COMMENTS_LENGTH),
        ],
        description=_l("The appraisers see them above the report while they revise it."),
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_COMMENTS_LENGTH},
    )


class SignOffForm(FlaskForm):
    """The chair's sign-off: a button (the form carries the CSRF token)."""


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("New note"),
        validators=[DataRequired(message=_l("Write the note first.")), _length(MAX_NOTE_LENGTH)],
        description=_l(
            "Read only by this audit's appraisers and the chair; never by the organisation."
        ),
        filters=[_strip],
        render_kw={"rows": 3, "maxlength": MAX_NOTE_LENGTH},
    )
