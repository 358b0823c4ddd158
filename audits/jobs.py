"""The daily audit sweep: schedule, open, remind, mark overdue; chase overdue document requests.

Each step selects everything due as of the date that has no mark yet, then claims each row
with a conditional UPDATE whose WHERE repeats the "not done yet" condition (the status, or the
empty mark it sets), and mails only when that UPDATE changed the row. A rerun finds nothing;
a second process sweeping another date at the same time (the daily claim does not keep those
apart) either waits on the row lock and then matches nothing (PostgreSQL re-reads the row
after the first transaction commits) or, on SQLite, waits for the whole first transaction.
Rows are claimed in id order, so two runners never wait on each other in a circle. The
conditions are ranges of dates, so a missed day is caught up by the next run.

A program withdrawn as of the date is left alone by every step: it is not audited any more;
nor is a program not recognised (applied for, or declined).
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.orm import Session

from audits.criteria import required_appraisers
from audits.models import ACTIVE_STATUSES, Audit, AuditStatus, DocumentRequest
from audits.notify import log_audit
from audits.queries import active_assignments, organisation_admin_emails, pool, subcommittee_for
from audits.services import fix_standards, schedule_audit
from registry.mail.services import queue_template_mail
from registry.organisations.models import Program


def sweep_audits(session: Session, today: date, now: datetime) -> dict[str, int]:
    """Run every audit step due as of ``today``; return how many rows each step handled."""
    config = current_app.config
    return {
        "scheduled": _schedule(session, today, now),
        "opened": _open(session, today, now, config["AUDIT_LEAD_DAYS"]),
        "reminded": _remind(session, today, now, config["AUDIT_REMINDER_DAYS"]),
        "overdue": _mark_overdue(session, today, now),
        "requests_reminded": _remind_requests(session, today, now),
    }


def _live(today: date) -> ColumnElement[bool]:
    """SQL: the program is recognised and not withdrawn as of ``today``.

    A program applied for is appraised on its application (``recognition``), and a declined
    one is never audited: the sweep leaves both alone.
    """
    return Program.is_recognised & or_(Program.withdrawn_on.is_(None), Program.withdrawn_on > today)


def _claim_each(session: Session, rows: list[Any], still_due: Any, **values: Any) -> list[Any]:
    """Set ``values`` on each row while ``still_due`` holds; return the rows this runner changed.

    One conditional UPDATE per row, in the rows' order (by id): a concurrent runner's UPDATE of
    the same row waits for this transaction and then matches nothing.
    """
    claimed = []
    for row in rows:
        model = type(row)
        result = session.execute(
            update(model)
            .where(model.id == row.id, still_due)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        )
        if result.rowcount == 1:
            claimed.append(row)
    return claimed


def _schedule(session: Session, today: date, now: datetime) -> int:
    """Schedule the next audit of every live program that has no open cycle."""
    has_cycle = exists().where(
        Audit.program_id == Program.id, Audit.status != AuditStatus.COMPLETED
    )
    programs = session.scalars(
        select(Program).where(_live(today), ~has_cycle).order_by(Program.id)
    ).all()
    return sum(schedule_audit(session, program, now=now) is not None for program in programs)


def _open(session: Session, today: date, now: datetime, lead_days: int) -> int:
    """Open each scheduled audit whose opening date (due date less the lead) has come."""
    due = session.scalars(
        select(Audit)
        .join(Program, Program.id == Audit.program_id)
        .where(
            Audit.status == AuditStatus.SCHEDULED,
            # audits.schedule.opening_date(due_on, lead_days) <= today
            Audit.due_on <= today + timedelta(days=lead_days),
            _live(today),
        )
        .order_by(Audit.id)
    ).all()
    scheduled = Audit.status == AuditStatus.SCHEDULED
    opened = _claim_each(session, due, scheduled, status=AuditStatus.OPEN, opened_on=today)
    for audit in opened:
        fix_standards(session, audit, today)
        _tell_opened(session, audit, now)
        log_audit(session, "audit.opened", audit, now=now, actor=None, due_on=str(audit.due_on))
    return len(opened)


def _tell_opened(session: Session, audit: Audit, now: datetime) -> None:
    """Tell the organisation, and ask the subcommittee's pool to declare any conflict."""
    program = audit.program
    organisation = organisation_admin_emails(session, program.organisation_id)
    queue_template_mail(session, "audit_opened.txt", to=organisation, now=now, audit=audit)
    pool_emails = [user.email for user in pool(session, program.program_type)]
    queue_template_mail(
        session,
        "audit_opened.txt",
        to=[*_chair_email(session, program.program_type), *pool_emails],
        now=now,
        audit=audit,
        for_committee=True,
        required=required_appraisers(program.program_type),
    )


def _remind(session: Session, today: date, now: datetime, reminder_days: int) -> int:
    """Remind the organisation and the appraisers of each audit due within the reminder days.

    Only audits not yet past their due date are reminded: for one past it (a long catch-up)
    the overdue notice is the news, and ``reminded_on`` stays empty, so the audit's timeline
    shows no reminder that was never sent.
    """
    due = session.scalars(
        select(Audit)
        .join(Program, Program.id == Audit.program_id)
        .where(
            Audit.status.in_([status.value for status in ACTIVE_STATUSES]),
            Audit.reminded_on.is_(None),
            Audit.due_on.between(today, today + timedelta(days=reminder_days)),
            _live(today),
        )
        .order_by(Audit.id)
    ).all()
    reminded = _claim_each(session, due, Audit.reminded_on.is_(None), reminded_on=today)
    for audit in reminded:
        _tell_reminder(session, audit, now)
    return len(reminded)


def _tell_reminder(session: Session, audit: Audit, now: datetime) -> None:
    """Remind the organisation, and the assigned appraisers (the chair while there are none)."""
    program = audit.program
    organisation = organisation_admin_emails(session, program.organisation_id)
    queue_template_mail(session, "audit_reminder.txt", to=organisation, now=now, audit=audit)
    appraisers = [a.appraiser.email for a in active_assignments(session, audit.id)]
    queue_template_mail(
        session,
        "audit_reminder.txt",
        to=appraisers or _chair_email(session, program.program_type),
        now=now,
        audit=audit,
        for_committee=True,
        has_appraisers=bool(appraisers),
        required=required_appraisers(program.program_type),
    )


def _mark_overdue(session: Session, today: date, now: datetime) -> int:
    """Mark each audit not signed off by its due date; tell the organisation and the chair."""
    not_done = Audit.status != AuditStatus.COMPLETED
    due = session.scalars(
        select(Audit)
        .join(Program, Program.id == Audit.program_id)
        .where(not_done, Audit.overdue_marked_on.is_(None), Audit.due_on < today, _live(today))
        .order_by(Audit.id)
    ).all()
    unmarked = not_done & Audit.overdue_marked_on.is_(None)
    marked = _claim_each(session, due, unmarked, overdue_marked_on=today)
    for audit in marked:
        program = audit.program
        organisation = organisation_admin_emails(session, program.organisation_id)
        queue_template_mail(session, "audit_overdue.txt", to=organisation, now=now, audit=audit)
        chair = _chair_email(session, program.program_type)
        queue_template_mail(
            session, "audit_overdue.txt", to=chair, now=now, audit=audit, for_committee=True
        )
        log_audit(session, "audit.overdue", audit, now=now, actor=None, due_on=str(audit.due_on))
    return len(marked)


def _remind_requests(session: Session, today: date, now: datetime) -> int:
    """Remind the organisation, once per request, of requests left unanswered past their date.

    The requests of one audit that fall due together go out in one message.
    """
    due = session.scalars(
        select(DocumentRequest)
        .join(Audit, Audit.id == DocumentRequest.audit_id)
        .join(Program, Program.id == Audit.program_id)
        .where(
            DocumentRequest.answered_at.is_(None),
            DocumentRequest.reminded_on.is_(None),
            DocumentRequest.due_on < today,
            Audit.status != AuditStatus.COMPLETED,
            _live(today),
        )
        .order_by(DocumentRequest.id)
    ).all()
    unanswered = DocumentRequest.answered_at.is_(None) & DocumentRequest.reminded_on.is_(None)
    claimed: dict[int, list[DocumentRequest]] = defaultdict(list)
    for request in _claim_each(session, due, unanswered, reminded_on=today):
        claimed[request.audit_id].append(request)
    for requests in claimed.values():
        audit = requests[0].audit
        queue_template_mail(
            session,
            "audit_request_overdue.txt",
            to=organisation_admin_emails(session, audit.program.organisation_id),
            now=now,
            audit=audit,
            requests=requests,
        )
    return sum(len(requests) for requests in claimed.values())


def _chair_email(session: Session, program_type: str) -> list[str]:
    """Return the address of the subcommittee's chair, if one is appointed and enabled."""
    subcommittee = subcommittee_for(session, program_type)
    chair = subcommittee.chair if subcommittee else None
    return [chair.email] if chair is not None and chair.disabled_at is None else []
