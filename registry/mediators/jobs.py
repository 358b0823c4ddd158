"""The daily lifecycle sweep: invoice coming periods, log transitions, send reminders.

Set-based and in bounded memory: certifications are processed in ranges of ids; within each
range one query (``status.status_rows``) finds what is due, and Python only touches the rows
that are due (new invoices, changed statuses, reminders not sent yet). Every step looks at
everything due as of the date, so a missed day is caught up, and each step leaves a mark
(the invoice, ``recorded_status``, the reminder row) so that running it again does nothing.
"""

import logging
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, exists, insert, literal, select, union_all, update
from sqlalchemy.orm import Session, selectinload

from registry.clock import add_years
from registry.contributions.models import CountryTier, FeeRate, Invoice, Tier
from registry.credentials.status import update_status_bits
from registry.events.models import Event
from registry.events.services import record_event
from registry.mail.models import MailStatus, OutboxMessage
from registry.mail.services import split_subject
from registry.mediators.models import (
    Certification,
    LifecycleReminder,
    Mediator,
    ReminderKind,
    Status,
)
from registry.mediators.queries import certification_id_ranges
from registry.mediators.status import last_covered_day, since, status_rows
from registry.mediators.transitions import TRANSITION_ACTIONS

CHUNK = 20_000

log = logging.getLogger(__name__)


def run_lifecycle(session: Session, as_of: date, now: datetime) -> dict[str, Any]:
    """Run the three lifecycle steps for ``as_of`` over every certification."""
    config = current_app.config
    grace = config["GRACE_PERIOD_DAYS"]
    summary: dict[str, Any] = {"invoices": 0, "transitions": 0, "reminders": 0}
    missing_rates: set[int] = set()
    rates = {rate.year: rate for rate in session.scalars(select(FeeRate))}
    tiers = {row.country: Tier(row.tier) for row in session.scalars(select(CountryTier))}
    mailer = _Reminders(session, as_of, now, grace)
    for ids in certification_id_ranges(session, CHUNK):
        rows = status_rows(as_of, grace, ids)
        summary["invoices"] += _issue_invoices(session, rows, as_of, rates, tiers, missing_rates)
        summary["transitions"] += _record_transitions(session, rows, as_of, now, grace)
        summary["reminders"] += mailer.send(rows)
    if mailer.not_sent:
        summary["reminders_not_sent"] = mailer.record_not_sent()
    if summary["invoices"]:
        record_event(
            session,
            action="invoices.issued",
            subject_type="job",
            subject_id="lifecycle",
            now=now,
            data={"as_of": as_of.isoformat(), "count": summary["invoices"]},
        )
    if missing_rates:
        summary["no_fee_schedule_for"] = sorted(missing_rates)
    return summary


def _issue_invoices(
    session: Session,
    rows: Select,
    as_of: date,
    rates: dict[int, FeeRate],
    tiers: dict[str, Tier],
    missing_rates: set[int],
) -> int:
    """Invoice the next period of every live certification within the reminder window.

    The invoice goes to the payer: one contribution covers all of a person's certifications.
    """
    window_end = as_of + timedelta(days=current_app.config["PERIOD_END_REMINDER_DAYS"])
    status = rows.subquery()
    covered = status.c.covered_until
    already = exists().where(
        Invoice.certification_id == status.c.payer_id, Invoice.period_end > covered
    )
    due = session.execute(
        select(status.c.payer_id, status.c.covered_until, Mediator.country)
        .distinct()
        .join(Mediator, Mediator.id == status.c.mediator_id)
        .where(
            status.c.status.in_([Status.CERTIFIED.value, Status.LAPSED.value]),
            covered <= window_end,
            ~already,
        )
    ).all()
    invoices = []
    for row in due:
        start = last_covered_day(row) + timedelta(days=1)
        rate = rates.get(start.year)
        if rate is None:
            missing_rates.add(start.year)
            continue
        tier = tiers.get(row.country or "", Tier.FULL)
        amount = rate.amount_for(tier)
        invoices.append(
            {
                "certification_id": row.payer_id,
                "period_start": start,
                "period_end": add_years(start, 1) - timedelta(days=1),
                "amount_minor": amount,
                "currency": rate.currency,
                "tier": tier.value,
                "issued_on": as_of,
                # A free period (a zero fee) is settled the day it is issued.
                "settled_on": as_of if amount == 0 else None,
            }
        )
    if invoices:
        session.execute(insert(Invoice), invoices)
    return len(invoices)


def _record_transitions(
    session: Session, rows: Select, as_of: date, now: datetime, grace: int
) -> int:
    """Log each status change that time made (lapse, strike) once, and remember it."""
    status = rows.add_columns(Certification.certificate_number, Certification.recorded_since)
    changed = session.execute(
        status.where(
            Certification.recorded_status != status.selected_columns.status,
            Certification.recorded_since <= as_of,
        )
    ).all()
    if not changed:
        return 0
    updates, events = [], []
    for row in changed:
        began = since(row, grace)
        updates.append(
            {"id": row.certification_id, "recorded_status": row.status, "recorded_since": began}
        )
        events.append(
            {
                "occurred_at": now,
                "actor_id": None,
                "action": TRANSITION_ACTIONS[Status(row.status)],
                "subject_type": "certification",
                "subject_id": row.certificate_number,
                "reason": None,
                "data": {
                    "status": row.status,
                    "status_since": began.isoformat(),
                    "as_of": as_of.isoformat(),
                },
            }
        )
    session.execute(update(Certification), updates)
    session.execute(insert(Event), events)
    # The credentials' status lists follow the recorded status (a bulk write: no ORM events).
    update_status_bits(session, [row.certification_id for row in changed])
    return len(changed)


class _Reminders:
    """Queue each reminder e-mail once per certification, kind and coverage.

    A reminder that fell due more than ``REMINDER_RECENT_DAYS`` ago (a first run, a first
    import, a long catch-up) is old news: it is marked as done, so it is never sent later,
    and logged, but not mailed.
    """

    def __init__(self, session: Session, as_of: date, now: datetime, grace: int) -> None:
        config = current_app.config
        self.session, self.as_of, self.now = session, as_of, now
        self.grace = grace
        self.period_window_end = as_of + timedelta(days=config["PERIOD_END_REMINDER_DAYS"])
        # Warn when the last day of grace (C + grace) is at most STRIKE_WARNING_DAYS away.
        self.warn_cutoff = as_of - timedelta(days=grace - config["STRIKE_WARNING_DAYS"])
        # The day, counted from the last covered day C, a reminder of past news fell due. (The
        # period-ending one is about a day still ahead: it is never old news.)
        self.due_after = {
            ReminderKind.LAPSED: 1,
            ReminderKind.STRIKE_WARNING: grace - config["STRIKE_WARNING_DAYS"],
        }
        self.oldest_mailed = as_of - timedelta(days=config["REMINDER_RECENT_DAYS"])
        self.not_sent: dict[str, int] = {}
        self.templates = {
            kind: current_app.jinja_env.get_template(f"mail/lifecycle_{kind.value}.txt")
            for kind in ReminderKind
        }

    def _due(self, status: Any, kind: ReminderKind) -> Any:
        covered = status.c.covered_until
        if kind is ReminderKind.PERIOD_ENDING:
            return and_(
                status.c.status == Status.CERTIFIED.value, covered <= self.period_window_end
            )
        lapsed = status.c.status == Status.LAPSED.value
        if kind is ReminderKind.LAPSED:
            return lapsed
        return and_(lapsed, covered <= self.warn_cutoff)

    def send(self, rows: Select) -> int:
        """Queue the reminders due among ``rows``; return how many."""
        # One statement for the three kinds: the status CTE is computed once, not three times.
        status = rows.cte("status")
        key = status.c.covered_until
        due = self.session.execute(
            union_all(*(self._due_query(status, key, kind) for kind in ReminderKind))
        ).all()
        old_news = 0
        for kind in ReminderKind:
            rows_of_kind = [row for row in due if row.kind == kind.value]
            if rows_of_kind:
                old_news += self._queue(kind, rows_of_kind)
        return len(due) - old_news

    def _due_query(self, status: Any, key: Any, kind: ReminderKind) -> Select:
        already = exists().where(
            LifecycleReminder.certification_id == status.c.certification_id,
            LifecycleReminder.kind == kind.value,
            LifecycleReminder.coverage_key == key,
        )
        return (
            select(
                literal(kind.value).label("kind"),
                status,
                key.label("coverage_key"),
                Mediator.name,
                Mediator.email,
                Certification.certificate_number,
            )
            .join(Mediator, Mediator.id == status.c.mediator_id)
            .join(Certification, Certification.id == status.c.certification_id)
            .where(self._due(status, kind), ~already)
        )

    def _open_invoices(self, due: list[Any]) -> dict[tuple[int, date], Invoice]:
        """Return the open invoices of the rows' payers by (payer, first day of the period)."""
        invoices = self.session.scalars(
            select(Invoice)
            .where(
                Invoice.certification_id.in_({row.payer_id for row in due}),
                Invoice.settled_on.is_(None),
            )
            .options(selectinload(Invoice.payments), selectinload(Invoice.waivers))
        )
        return {(invoice.certification_id, invoice.period_start): invoice for invoice in invoices}

    def _queue(self, kind: ReminderKind, due: list[Any]) -> int:
        """Mark every row's reminder as done and mail the recent ones; return how many not."""
        old_news = 0
        template = self.templates[kind]
        invoices = self._open_invoices(due)
        messages, marks = [], []
        # One e-mail per contribution: a dual holder's two certifications share one.
        payers: set[int] = set()
        for row in due:
            marks.append(
                {
                    "certification_id": row.certification_id,
                    "kind": kind.value,
                    "coverage_key": row.coverage_key,
                    "sent_on": self.as_of,
                }
            )
            covered = last_covered_day(row)
            if self._is_old_news(kind, covered):
                old_news += 1
                continue
            if row.payer_id in payers:
                continue
            payers.add(row.payer_id)
            body = template.render(
                row=row,
                covered_until=covered,
                lapsed_on=covered + timedelta(days=1),
                grace_ends_on=covered + timedelta(days=self.grace),
                # The invoice whose payment extends the coverage (none for a free period).
                invoice=invoices.get((row.payer_id, covered + timedelta(days=1))),
                config=current_app.config,
            )
            subject, text = split_subject(body)
            messages.append(
                {
                    "created_at": self.now,
                    "to_address": row.email,
                    "subject": subject,
                    "body_text": text,
                    "status": MailStatus.QUEUED.value,
                    "attempts": 0,
                }
            )
        self.session.execute(insert(LifecycleReminder), marks)
        if messages:
            self.session.execute(insert(OutboxMessage), messages)
        if old_news:
            self.not_sent[kind.value] = self.not_sent.get(kind.value, 0) + old_news
        return old_news

    def _is_old_news(self, kind: ReminderKind, covered: date) -> bool:
        after = self.due_after.get(kind)
        return after is not None and covered + timedelta(days=after) < self.oldest_mailed

    def record_not_sent(self) -> int:
        """Log the reminders marked without mailing; return how many."""
        counts = self.not_sent
        log.info("Reminders too old to mail as of %s, recorded only: %s", self.as_of, counts)
        record_event(
            self.session,
            action="reminders.not_sent",
            subject_type="job",
            subject_id="lifecycle",
            now=self.now,
            reason="fell due more than REMINDER_RECENT_DAYS ago",
            data={"as_of": self.as_of.isoformat(), "counts": counts},
        )
        return sum(counts.values())
