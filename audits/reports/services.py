"""The audit report and the working notes: one function per change.

An assigned appraiser saves drafts of the report (a draft may be incomplete, never invalid) and
submits it once complete; the chair of the program type's subcommittee returns it with
comments or signs it off, which makes the recommendation the audit's outcome and schedules the
next cycle. Every function re-reads the audit under a row lock (``locked``), so two requests on
one audit take turns; it logs an event that never carries the report's content, and flushes.
The request commits.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from audits import queries
from audits.models import (
    Audit,
    AuditDeviation,
    AuditFinding,
    AuditNote,
    AuditReport,
    AuditStatus,
    Rating,
    Recommendation,
)
from audits.notify import log_audit
from audits.services import AuditError, check_chair, locked, schedule_audit, text
from registry.accounts.models import User
from registry.i18n import _l, in_sentence
from registry.mail.services import queue_template_mail
from standards.models import StandardRule
from standards.queries import StandardSet

MAX_EVIDENCE_LENGTH = 5000
MAX_SECTION_LENGTH = 10000  # strengths, weaknesses, summary, conditions
MAX_DEVIATION_LENGTH = 2000
MAX_DEVIATIONS = 50
MAX_COMMENTS_LENGTH = 5000
MAX_NOTE_LENGTH = 5000

# A draft's findings: criterion code -> (rating or None, evidence).
Findings = Mapping[str, tuple[str | None, str]]
# A draft's deviations: (rule code, description) each.
Deviations = Sequence[tuple[str, str]]

# How refusals name the report's free texts, and how the list of what is missing does.
SECTIONS = {
    "strengths": _l("The strengths section"),
    "weaknesses": _l("The weaknesses section"),
    "summary": _l("The summary for the organisation"),
    "conditions": _l("The conditions section"),
}
REQUIRED_SECTIONS = {
    "strengths": _l("the strengths"),
    "weaknesses": _l("the weaknesses"),
    "summary": _l("the summary for the organisation"),
}

_NOT_WRITABLE = {
    AuditStatus.SCHEDULED: _l(
        "This audit has not opened yet; its report is written once its appraisers are assigned."
    ),
    AuditStatus.OPEN: _l("The report is written once all of this audit's appraisers are assigned."),
    AuditStatus.SUBMITTED: _l(
        "The report is with the chair; it can be changed again only if the chair returns it."
    ),
    AuditStatus.COMPLETED: _l("This audit is signed off; its report can no longer be changed."),
}


# -- Reading -------------------------------------------------------------------------------


def report_of(session: Session, audit_id: int) -> AuditReport | None:
    """Return the audit's report (draft or submitted), if one was saved."""
    return session.get(AuditReport, audit_id, populate_existing=True)


def notes_of(session: Session, audit_id: int) -> list[AuditNote]:
    """Return the audit's working notes, oldest first."""
    return list(
        session.scalars(
            select(AuditNote)
            .where(AuditNote.audit_id == audit_id)
            .order_by(AuditNote.created_at, AuditNote.id)
        )
    )


def _join(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("%(items)s and %(last)s", items=", ".join(items[:-1]), last=items[-1])


def missing_parts(report: AuditReport | None, standards: StandardSet) -> list[str]:
    """Return what ``report`` still needs before it can be submitted; empty when complete."""
    codes = [criterion.code for criterion in standards.criteria]
    findings = {finding.criterion: finding for finding in report.findings} if report else {}
    missing = []
    if unrated := [code for code in codes if code not in findings]:
        missing.append(_("a rating for %(codes)s", codes=_join(unrated)))
    if unproven := [code for code in codes if code in findings and not findings[code].evidence]:
        missing.append(_("evidence for %(codes)s", codes=_join(unproven)))
    for name, label in REQUIRED_SECTIONS.items():
        if not (report and getattr(report, name)):
            missing.append(str(label))
    recommendation = report.recommendation if report else None
    conditions = report.conditions if report else ""
    with_conditions = recommendation == Recommendation.RENEW_WITH_CONDITIONS
    if recommendation is None:
        missing.append(_("a recommendation"))
    elif with_conditions and not conditions:
        missing.append(_("the conditions of the renewal"))
    elif conditions and not with_conditions:
        missing.append(_("no conditions, unless the recommendation is to renew with conditions"))
    cited = {deviation.rule for deviation in report.deviations} if report else set()
    uncited = [
        f"{code} ({in_sentence(findings[code].rating_label)})"
        for code in codes
        if code in findings and findings[code].rating != Rating.MET and code not in cited
    ]
    if uncited:
        missing.append(
            _("a deviation citing each criterion not fully met: %(codes)s", codes=_join(uncited))
        )
    return missing


# -- Checks --------------------------------------------------------------------------------


# The refusals of _check_appraiser, one sentence per action (``doing``).
APPRAISER_ONLY = {
    "write its report": _l("Only an appraiser assigned to this audit can write its report."),
    "submit its report": _l("Only an appraiser assigned to this audit can submit its report."),
}
# The refusals of _check_submitted, one sentence per action (``done``).
NOT_SUBMITTED = {
    "returned": _l("Only a submitted report can be returned; this audit is %(status)s."),
    "signed off": _l("Only a submitted report can be signed off; this audit is %(status)s."),
}


def _check_appraiser(session: Session, audit: Audit, actor: User, doing: str) -> None:
    if not queries.is_assigned(session, actor.id, audit.id):
        raise AuditError(str(APPRAISER_ONLY[doing]))


def _check_writable(audit: Audit) -> None:
    if audit.status != AuditStatus.IN_PROGRESS:
        raise AuditError(str(_NOT_WRITABLE[AuditStatus(audit.status)]))


def _check_submitted(audit: Audit, done: str) -> None:
    if audit.status != AuditStatus.SUBMITTED:
        raise AuditError(str(NOT_SUBMITTED[done]) % {"status": in_sentence(audit.status_label)})


def _checked_findings(
    criteria: Mapping[str, StandardRule], program_type: str, findings: Findings
) -> dict[str, tuple[str, str]]:
    """Return the rated findings of ``findings``, or refuse an unknown criterion or rating."""
    codes = criteria.keys()
    checked = {}
    for code, (rating, evidence) in findings.items():
        if code not in codes:
            raise AuditError(
                _(
                    "%(code)s is not a criterion of a %(type)s audit.",
                    code=code,
                    type=program_type,
                )
            )
        if rating and rating not in set(Rating):
            raise AuditError(_("Rate %(code)s as met, partly met or not met.", code=code))
        evidence = text(
            evidence,
            what=_("The evidence for %(code)s", code=code),
            limit=MAX_EVIDENCE_LENGTH,
            minimum=0,
        )
        if evidence and not rating:
            # A finding row always has its rating (the table requires one).
            raise AuditError(
                _("Rate %(code)s as well, so that its evidence can be kept.", code=code)
            )
        if rating:
            checked[code] = (rating, evidence)
    return checked


def _checked_deviations(
    rules: Mapping[str, StandardRule], program_type: str, deviations: Deviations
) -> list[tuple[str, str]]:
    """Return ``deviations`` trimmed, or refuse one without a known rule or a description."""
    if len(deviations) > MAX_DEVIATIONS:
        raise AuditError(_("A report lists at most %(limit)s deviations.", limit=MAX_DEVIATIONS))
    checked = []
    for number, (rule, description) in enumerate(deviations, start=1):
        rule = (rule or "").strip()
        if not rule:
            raise AuditError(
                _(
                    "Deviation %(number)s cites no rule: every deviation cites the rule it breaks.",
                    number=number,
                )
            )
        if rule not in rules:
            raise AuditError(
                _(
                    "Deviation %(number)s cites %(rule)s,"
                    " which is not a rule for %(type)s programs.",
                    number=number,
                    rule=rule,
                    type=program_type,
                )
            )
        description = text(
            description,
            what=_("The description of deviation %(number)s", number=number),
            limit=MAX_DEVIATION_LENGTH,
        )
        checked.append((rule, description))
    return checked


def _checked_recommendation(recommendation: str | None) -> str | None:
    if recommendation and recommendation not in set(Recommendation):
        raise AuditError(_("Recommend to renew, to renew with conditions, or to suspend."))
    return recommendation or None


# -- The appraisers ------------------------------------------------------------------------


def save_draft(
    session: Session,
    audit: Audit,
    *,
    findings: Findings,
    strengths: str,
    weaknesses: str,
    summary: str,
    recommendation: str | None,
    conditions: str,
    deviations: Deviations,
    now: datetime,
    actor: User,
) -> AuditReport:
    """Save the report as it stands: ``findings`` and ``deviations`` replace the saved ones."""
    audit = locked(session, audit)
    _check_appraiser(session, audit, actor, "write its report")
    _check_writable(audit)
    program_type = audit.program.program_type
    standards = queries.standard_set(session, audit)
    criteria = {rule.code: rule for rule in standards.criteria}
    rules = {rule.code: rule for rule in standards.rules}
    rated = _checked_findings(criteria, program_type, findings)
    cited = _checked_deviations(rules, program_type, deviations)
    texts = {
        name: text(value, what=str(SECTIONS[name]), limit=MAX_SECTION_LENGTH, minimum=0)
        for name, value in (
            ("strengths", strengths),
            ("weaknesses", weaknesses),
            ("summary", summary),
            ("conditions", conditions),
        )
    }
    recommendation = _checked_recommendation(recommendation)
    report = report_of(session, audit.id)
    if report is None:
        report = AuditReport(audit_id=audit.id, created_at=now)
        session.add(report)
    for name, value in texts.items():
        setattr(report, name, value)
    report.recommendation = recommendation
    report.updated_at, report.updated_by_id = now, actor.id
    _replace_findings(report, rated, criteria)
    report.deviations = [
        AuditDeviation(rule=code, rule_id=rules[code].id, description=description)
        for code, description in cited
    ]
    log_audit(
        session,
        "audit.report_saved",
        audit,
        now=now,
        actor=actor,
        findings=len(rated),
        deviations=len(cited),
    )
    session.flush()
    return report


def _replace_findings(
    report: AuditReport,
    rated: dict[str, tuple[str, str]],
    criteria: Mapping[str, StandardRule],
) -> None:
    """Update the report's findings in place: change, add, and drop those no longer rated."""
    existing = {finding.criterion: finding for finding in report.findings}
    for code, finding in existing.items():
        if code not in rated:
            report.findings.remove(finding)
    for code, (rating, evidence) in rated.items():
        finding = existing.get(code)
        if finding is None:
            report.findings.append(
                AuditFinding(
                    criterion=code, rule_id=criteria[code].id, rating=rating, evidence=evidence
                )
            )
        else:
            finding.rating, finding.evidence = rating, evidence


def submit_report(session: Session, audit: Audit, *, now: datetime, actor: User) -> AuditReport:
    """Hand the complete report to the chair of the program type's subcommittee."""
    audit = locked(session, audit)
    _check_appraiser(session, audit, actor, "submit its report")
    _check_writable(audit)
    report = report_of(session, audit.id)
    missing = missing_parts(report, queries.standard_set(session, audit))
    if report is None or missing:
        raise AuditError(
            _(
                "The report cannot be submitted yet. It needs %(missing)s.",
                missing="; ".join(missing),
            )
        )
    report.submitted_at, report.submitted_by_id = now, actor.id
    audit.status = AuditStatus.SUBMITTED
    log_audit(session, "audit.report_submitted", audit, now=now, actor=actor)
    subcommittee = queries.subcommittee_for(session, audit.program.program_type)
    chair = subcommittee.chair if subcommittee else None
    if chair is not None and chair.is_active:
        queue_template_mail(
            session,
            "audit_report_submitted.txt",
            to=[chair.email],
            now=now,
            audit=audit,
            chair=chair,
            appraiser=actor,
        )
    session.flush()
    return report


# -- The chair -----------------------------------------------------------------------------


def _appraiser_emails(session: Session, audit: Audit) -> list[str]:
    return [
        assignment.appraiser.email
        for assignment in queries.active_assignments(session, audit.id)
        if assignment.appraiser.is_active
    ]


def return_report(
    session: Session, audit: Audit, *, comments: str, now: datetime, actor: User
) -> AuditReport:
    """Send the submitted report back to the appraisers with the chair's comments."""
    audit = locked(session, audit)
    check_chair(session, audit, actor, doing="return a report")
    _check_submitted(audit, "returned")
    comments = text(comments, what=_("Your comments"), limit=MAX_COMMENTS_LENGTH)
    report = report_of(session, audit.id)
    assert report is not None  # a submitted audit has its report
    report.returned_at, report.chair_comments = now, comments
    report.submitted_at = report.submitted_by_id = None
    # An appraiser removed meanwhile leaves the audit waiting for a new one.
    staffed = queries.is_staffed(session, audit)
    audit.status = AuditStatus.IN_PROGRESS if staffed else AuditStatus.OPEN
    log_audit(session, "audit.report_returned", audit, now=now, actor=actor)
    queue_template_mail(
        session,
        "audit_report_returned.txt",
        to=_appraiser_emails(session, audit),
        now=now,
        audit=audit,
        chair=actor,
    )
    session.flush()
    return report


def sign_off(
    session: Session, audit: Audit, *, today: date, now: datetime, actor: User
) -> Audit | None:
    """Complete the audit with the report's recommendation as its outcome.

    The program's public status follows from the outcome; the next cycle is scheduled two
    years on from ``today``. Returns the next cycle's audit, or None (a withdrawn program).
    """
    audit = locked(session, audit)
    check_chair(session, audit, actor, doing="sign off an audit")
    if audit.is_recognition:  # the chair's decision on the application completes it
        raise AuditError(_("This appraises an application: decide on the application's page."))
    _check_submitted(audit, "signed off")
    report = report_of(session, audit.id)
    assert report is not None and report.recommendation is not None  # checked at submission
    if queries.is_assigned(session, actor.id, audit.id) or report.submitted_by_id == actor.id:
        raise AuditError(
            _(
                "You are one of this audit's appraisers, so you cannot sign off its report: "
                "the sign-off must be independent of the report's authors."
            )
        )
    audit.outcome = report.recommendation
    audit.completed_on = today
    audit.signed_off_at, audit.signed_off_by_id = now, actor.id
    audit.status = AuditStatus.COMPLETED
    session.flush()  # the next due date counts from this completion
    next_audit = schedule_audit(session, audit.program, now=now, actor=actor)
    log_audit(
        session,
        "audit.signed_off",
        audit,
        now=now,
        actor=actor,
        outcome=audit.outcome,
        next_due_on=next_audit.due_on.isoformat() if next_audit else None,
    )
    _announce_outcome(session, audit, report, next_audit, now=now)
    session.flush()
    return next_audit


def _announce_outcome(
    session: Session, audit: Audit, report: AuditReport, next_audit: Audit | None, *, now: datetime
) -> None:
    """Tell the organisation's administrators the outcome and summary, and the appraisers."""
    context = {"audit": audit, "report": report, "next_audit": next_audit}
    queue_template_mail(
        session,
        "audit_report_outcome.txt",
        to=queries.organisation_admin_emails(session, audit.program.organisation_id),
        now=now,
        **context,
    )
    queue_template_mail(
        session,
        "audit_report_signed_off.txt",
        to=_appraiser_emails(session, audit),
        now=now,
        **context,
    )


# -- Notes ---------------------------------------------------------------------------------


def add_note(session: Session, audit: Audit, *, body: str, now: datetime, actor: User) -> AuditNote:
    """Add a working note, read only by the audit's appraisers and the chair."""
    audit = locked(session, audit)
    if not (
        queries.chairs_audit(session, actor, audit)
        or queries.is_assigned(session, actor.id, audit.id)
    ):
        raise AuditError(
            _(
                "Only the audit's appraisers and the chair of the %(type)s subcommittee"
                " can add notes.",
                type=audit.program.program_type,
            )
        )
    if audit.status == AuditStatus.COMPLETED:
        raise AuditError(_("This audit is signed off; its notes are closed."))
    note = AuditNote(
        audit_id=audit.id,
        author_id=actor.id,
        body=text(body, what=_("The note"), limit=MAX_NOTE_LENGTH),
        created_at=now,
    )
    session.add(note)
    log_audit(session, "audit.note_added", audit, now=now, actor=actor)
    session.flush()
    return note
