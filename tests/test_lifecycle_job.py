"""The daily lifecycle job: invoices, transitions and reminders, each exactly once."""

import multiprocessing
from datetime import date

import pytest
from sqlalchemy import func, select

from registry.contributions.models import Invoice
from registry.database import db, utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.mediators.jobs import run_lifecycle
from registry.mediators.models import Certification, LifecycleReminder, Status
from registry.scheduling.registry import get_jobs, run_daily_job
from tests.conftest import make_test_app
from tests.factories import grant, make_mediator, pay, set_fees

D = date.fromisoformat
GRANTED = D("2024-01-01")  # first period 2024; grace 2025; struck from 2026-01-01


def count(session, what, *where):
    return session.scalar(select(func.count()).select_from(what).where(*where))


def events(session, action):
    return session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


def mails(session, subject_part):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains(subject_part))
    ).all()


@pytest.fixture
def certified(ctx, session):
    set_fees(session)
    return grant(session, make_mediator(session, name="Łukasz Nowak"), on=GRANTED)


def sweep(session, on: str):
    summary = run_lifecycle(session, D(on), utcnow())
    session.flush()
    session.expire_all()
    return summary


def test_reminds_before_the_period_ends_and_issues_the_next_invoice(session, certified):
    assert sweep(session, "2024-11-30") == {"invoices": 0, "transitions": 0, "reminders": 0}
    summary = sweep(session, "2024-12-01")  # 30 days before the period ends
    assert summary == {"invoices": 1, "transitions": 0, "reminders": 1}
    invoice = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    assert (invoice.period_start, invoice.period_end) == (D("2025-01-01"), D("2025-12-31"))
    assert invoice.amount_minor == 15000 and invoice.settled_on is None
    (mail,) = mails(session, "listing period ends on 31 December 2024")
    assert mail.to_address == certified.mediator.email
    assert certified.certificate_number in mail.body_text
    # The next day nothing is due again.
    assert sweep(session, "2024-12-02") == {"invoices": 0, "transitions": 0, "reminders": 0}


@pytest.mark.parametrize(
    ("on", "subject"),
    [
        ("2024-12-01", "listing period ends on 31 December 2024"),
        ("2025-01-01", "has lapsed"),
        ("2025-12-01", "will be struck after 31 December 2025"),
    ],
)
def test_reminders_give_the_amount_the_invoice_and_how_to_pay(app, session, certified, on, subject):
    instructions = app.config["PAYMENT_INSTRUCTIONS"]
    app.config["PAYMENT_INSTRUCTIONS"] = "transfer to IBAN NL00 TEST 0123 4567 89."
    try:
        for day in ("2024-12-01", "2025-01-01", "2025-12-01"):
            if day <= on:
                sweep(session, day)
    finally:
        app.config["PAYMENT_INSTRUCTIONS"] = instructions
    (mail,) = mails(session, subject)
    invoice = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    assert invoice.period_start == D("2025-01-01")
    body = mail.body_text
    assert "Amount due: EUR 150.00" in body
    assert f"invoice {invoice.number}" in body and invoice.number.startswith("INV-")
    assert "How to pay: transfer to IBAN NL00 TEST 0123 4567 89." in body
    assert f"Quote the invoice number {invoice.number}" in body
    assert "http://registry.test/my/certification" in body


def test_with_online_payment_reminders_link_to_pay_now(app, session, certified, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "whsec_x")
    for day in ("2024-12-01", "2025-01-01", "2025-12-01"):
        sweep(session, day)
    invoice = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    reminders = [
        *mails(session, "listing period ends"),
        *mails(session, "has lapsed"),
        *mails(session, "will be struck"),
    ]
    assert len(reminders) == 3
    for mail in reminders:
        assert 'Pay now, online by card: sign in and press "Pay now" beside invoice' in (
            mail.body_text
        )
        assert f"http://registry.test/my/certification#invoice-{invoice.id}" in mail.body_text
        assert "no online payment" not in mail.body_text


def test_a_reminder_shows_what_is_still_owed_after_a_part_payment(session, certified):
    sweep(session, "2024-12-01")
    invoice = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    pay(session, certified, on=D("2024-12-10"), amount=5000)
    sweep(session, "2025-01-01")
    (mail,) = mails(session, "has lapsed")
    assert f"Amount due: EUR 100.00, invoice {invoice.number}" in mail.body_text


def test_lapse_and_strike_are_each_logged_once_with_their_reminders(session, certified):
    sweep(session, "2024-12-02")
    summary = sweep(session, "2025-01-01")
    assert summary["transitions"] == 1 and summary["reminders"] == 1
    (lapse,) = events(session, "certification.lapsed")
    assert lapse.subject_id == certified.certificate_number
    assert lapse.data["status_since"] == "2025-01-01" and lapse.actor is None
    assert len(mails(session, "has lapsed")) == 1
    assert sweep(session, "2025-01-02")["transitions"] == 0

    assert sweep(session, "2025-11-30")["reminders"] == 0
    assert sweep(session, "2025-12-01")["reminders"] == 1  # 30 days before grace ends
    (warning,) = mails(session, "will be struck after 31 December 2025")
    assert "1 January 2025" in warning.body_text

    summary = sweep(session, "2026-01-01")
    assert summary["transitions"] == 1
    (strike,) = events(session, "certification.struck")
    assert strike.data["status_since"] == "2026-01-01"
    assert certified.recorded_status == Status.STRUCK
    assert sweep(session, "2026-01-02") == {"invoices": 0, "transitions": 0, "reminders": 0}


def test_a_missed_week_is_caught_up_in_one_run(session, certified):
    summary = sweep(session, "2025-01-10")
    # A reminder that the period is ending would be stale now: only the lapse is mailed.
    assert summary == {"invoices": 1, "transitions": 1, "reminders": 1}
    assert [m.subject for m in session.scalars(select(OutboxMessage))] == [
        "Your certification has lapsed"
    ]


def test_a_first_run_records_old_reminders_without_mailing_them(session, certified):
    # The lapse (2025-01-01) is 59 days old: past REMINDER_RECENT_DAYS (14).
    summary = sweep(session, "2025-03-01")
    assert summary == {"invoices": 1, "transitions": 1, "reminders": 0, "reminders_not_sent": 1}
    assert mails(session, "has lapsed") == []
    assert count(session, LifecycleReminder, LifecycleReminder.kind == "lapsed") == 1
    (logged,) = events(session, "reminders.not_sent")
    assert logged.data == {"as_of": "2025-03-01", "counts": {"lapsed": 1}}
    # Recorded, so never sent later; the strike warning, when due, is recent and mailed.
    assert sweep(session, "2025-03-02") == {"invoices": 0, "transitions": 0, "reminders": 0}
    assert sweep(session, "2025-12-01")["reminders"] == 1
    assert len(mails(session, "will be struck")) == 1


@pytest.mark.parametrize(("days", "mailed"), [(13, 0), (14, 1), (15, 1)])
def test_the_recent_window_is_a_setting(app, session, certified, days, mailed):
    app.config["REMINDER_RECENT_DAYS"] = days
    try:
        sweep(session, "2025-01-15")  # the lapse fell due 14 days ago
    finally:
        app.config["REMINDER_RECENT_DAYS"] = 14
    assert len(mails(session, "has lapsed")) == mailed


def test_payment_in_grace_restores_and_the_job_logs_nothing_more(session, certified):
    sweep(session, "2025-01-01")
    pay(session, certified, on=D("2025-02-01"))
    assert certified.recorded_status == Status.CERTIFIED
    payment = events(session, "payment.recorded")[-1]
    assert payment.data["status_before"] == "lapsed" and payment.data["status"] == "certified"
    assert sweep(session, "2025-02-02")["transitions"] == 0
    assert events(session, "certification.restored") == []


def test_sweep_is_idempotent_for_a_date(session, certified):
    make_mediator(session, name="Ana Applicant", email="ana@example.org")
    grant(session, make_mediator(session, name="Bo Unpaid"), on=D("2024-06-01"), paid=False)
    first = sweep(session, "2025-01-10")
    assert first["transitions"] >= 1
    before = [count(session, t) for t in (Invoice, Event, OutboxMessage, LifecycleReminder)]
    assert sweep(session, "2025-01-10") == {"invoices": 0, "transitions": 0, "reminders": 0}
    after = [count(session, t) for t in (Invoice, Event, OutboxMessage, LifecycleReminder)]
    assert before == after


def test_no_fee_schedule_is_reported_and_retried(session, ctx):
    set_fees(session, years=[2024])
    certification = grant(session, make_mediator(session), on=GRANTED)
    assert sweep(session, "2024-12-15")["no_fee_schedule_for"] == [2025]
    set_fees(session, years=[2025])
    assert sweep(session, "2024-12-16")["invoices"] == 1
    assert count(session, Invoice, Invoice.certification_id == certification.id) == 2


def test_the_registered_job_runs_once_per_date(session, certified):
    job = get_jobs().daily["lifecycle"]
    assert run_daily_job(job, D("2025-01-05"))["transitions"] == 1
    assert run_daily_job(job, D("2025-01-05")) is None


def _run_job_in_process(url: str, day: str, barrier) -> None:
    app = make_test_app(url)
    with app.app_context():
        barrier.wait()
        run_daily_job(get_jobs().daily["lifecycle"], D(day))
        db.engine.dispose()


def test_two_processes_send_each_reminder_once(fresh_app, fresh_database_url):
    with db.transaction() as session:
        set_fees(session)
        for number in range(5):
            grant(session, make_mediator(session, name=f"Mediator {number}"), on=GRANTED)
    db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    runners = [
        context.Process(
            target=_run_job_in_process, args=(fresh_database_url, "2025-01-02", barrier)
        )
        for _ in range(2)
    ]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(60)
        assert runner.exitcode == 0
    with db.transaction() as session:
        assert count(session, OutboxMessage) == 5  # one lapse mail each
        assert count(session, Event, Event.action == "certification.lapsed") == 5
        assert count(session, Invoice) == 10
        statuses = session.scalars(select(Certification.recorded_status)).all()
        assert set(statuses) == {Status.LAPSED.value}
