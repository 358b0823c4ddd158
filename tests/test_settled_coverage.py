"""The database's summary of each certification's settled invoices (migration 0020).

``settled_through``, ``last_settled_on`` and ``last_restored_on`` are kept by triggers on
``invoices``; ``status_rows`` reads them instead of the invoices. These tests hold them to the
invoices themselves after every kind of write (services, bulk inserts, moves, deletes), and
``status_rows`` to the coverage the invoices give on days before, between and after
settlements.
"""

from datetime import date, timedelta

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from registry.contributions.models import Invoice
from registry.contributions.services import grant_waiver, void_payment
from registry.database import utcnow
from registry.mediators.models import Certification
from registry.mediators.status import status_rows
from tests.factories import grant, make_mediator, open_invoice, pay, set_fees, staff_user

D = date.fromisoformat
GRACE = 365


def summaries(session: Session) -> dict[int, tuple[date | None, date | None, date | None]]:
    """Return each certification's stored summary."""
    query = select(
        Certification.id,
        Certification.settled_through,
        Certification.last_settled_on,
        Certification.last_restored_on,
    )
    session.flush()
    session.expire_all()
    return {row[0]: tuple(row[1:]) for row in session.execute(query)}


def from_invoices(session: Session) -> dict[int, tuple[date | None, date | None, date | None]]:
    """Return the same three values aggregated from the invoices (none: all None)."""
    settled = Invoice.settled_on.is_not(None)
    query = (
        select(
            Certification.id,
            func.max(case((settled, Invoice.period_end))),
            func.max(Invoice.settled_on),
            func.max(case((Invoice.settled_on > Invoice.period_start, Invoice.settled_on))),
        )
        .outerjoin(Invoice, Invoice.certification_id == Certification.id)
        .group_by(Certification.id)
    )
    return {row[0]: tuple(row[1:]) for row in session.execute(query)}


def reference_coverage(session: Session, as_of: date) -> dict[int, tuple[date | None, ...]]:
    """C and the last late settlement of each certification on ``as_of``, from its payer's
    invoices settled by then: what ``status_rows`` computed before the summary existed."""
    payer = func.coalesce(Certification.covered_by_id, Certification.id)
    late = case((Invoice.settled_on > Invoice.period_start, Invoice.settled_on))
    query = (
        select(Certification.id, func.max(Invoice.period_end), func.max(late))
        .outerjoin(Invoice, (Invoice.certification_id == payer) & (Invoice.settled_on <= as_of))
        .where(Certification.granted_on <= as_of)
        .group_by(Certification.id)
    )
    return {row[0]: tuple(row[1:]) for row in session.execute(query)}


def computed_coverage(session: Session, as_of: date) -> dict[int, tuple[date | None, ...]]:
    rows = session.execute(status_rows(as_of, GRACE))
    return {row.certification_id: (row.covered_until, row.restored_on) for row in rows}


def test_services_keep_the_summary_with_the_invoices(ctx: None, session: Session) -> None:
    set_fees(session)
    on_time = grant(session, make_mediator(session), on=D("2024-01-01"))
    late = grant(session, make_mediator(session), on=D("2024-01-01"))
    never = grant(session, make_mediator(session), on=D("2024-03-01"), paid=False)
    assert summaries(session) == from_invoices(session)
    assert summaries(session)[never.id] == (None, None, None)
    assert summaries(session)[on_time.id] == (D("2024-12-31"), D("2024-01-01"), None)

    pay(session, on_time, on=D("2024-12-20"))
    # Paid after its second period began: a late settlement, which restores certification.
    payment, _ = pay(session, late, on=D("2025-02-10"))
    assert summaries(session) == from_invoices(session)
    assert summaries(session)[late.id] == (D("2025-12-31"), D("2025-02-10"), D("2025-02-10"))

    void_payment(
        session,
        payment,
        reason="Booked twice",
        today=D("2025-02-11"),
        now=utcnow(),
        actor=staff_user(session),
    )
    assert summaries(session)[late.id] == (D("2024-12-31"), D("2024-01-01"), None)
    grant_waiver(
        session,
        open_invoice(session, late),
        percent=100,
        reason="Hardship",
        today=D("2025-03-01"),
        now=utcnow(),
        actor=staff_user(session),
    )
    assert summaries(session) == from_invoices(session)
    assert summaries(session)[late.id][0] == D("2025-12-31")


def test_bulk_inserts_moves_and_deletes_keep_the_summary(ctx: None, session: Session) -> None:
    set_fees(session)
    first = grant(session, make_mediator(session), on=D("2020-01-01"), paid=False)
    second = grant(session, make_mediator(session), on=D("2020-01-01"), paid=False)
    template = session.scalar(select(Invoice).where(Invoice.certification_id == first.id))
    base = {
        column: getattr(template, column)
        for column in ("amount_minor", "currency", "tier", "issued_on")
    }
    session.execute(delete(Invoice).where(Invoice.certification_id.in_([first.id, second.id])))
    rows = []
    for year in range(2020, 2026):
        for certification in (first, second):
            start = date(year, 1, 1)
            # The second certification's 2023 period is left unpaid; 2024's was paid late.
            settled = {2023: None, 2024: date(2024, 3, 1)}.get(year, start - timedelta(days=5))
            if certification is first:
                settled = start - timedelta(days=5)
            rows.append(
                base
                | {
                    "certification_id": certification.id,
                    "period_start": start,
                    "period_end": date(year, 12, 31),
                    "settled_on": settled,
                }
            )
    session.execute(insert(Invoice), rows)
    assert summaries(session) == from_invoices(session)
    assert summaries(session)[second.id] == (D("2025-12-31"), D("2024-12-27"), D("2024-03-01"))

    # Unsettle the newest period, move one invoice to the other certification, delete one.
    session.execute(update(Invoice).where(of(first, 2025)).values(settled_on=None))
    session.execute(update(Invoice).where(of(second, 2024)).values(period_start=D("2024-01-02")))
    session.execute(
        update(Invoice)
        .where(Invoice.certification_id == second.id, Invoice.period_start == D("2024-01-02"))
        .values(certification_id=first.id)
    )
    session.execute(delete(Invoice).where(of(second, 2025)))
    assert summaries(session) == from_invoices(session)
    assert summaries(session)[first.id] == (D("2024-12-31"), D("2024-03-01"), D("2024-03-01"))
    assert summaries(session)[second.id] == (D("2022-12-31"), D("2021-12-27"), None)

    session.execute(delete(Invoice).where(Invoice.certification_id == second.id))
    assert summaries(session)[second.id] == (None, None, None)


def of(certification: Certification, year: int):  # type: ignore[no-untyped-def]
    """The bulk-inserted invoice of ``certification`` for ``year``."""
    return (Invoice.certification_id == certification.id) & (
        Invoice.period_start == date(year, 1, 1)
    )


def test_status_rows_read_the_invoices_settled_by_the_day_asked(
    ctx: None, session: Session
) -> None:
    """Before a settlement the summary does not hold yet, and the invoices settled by then
    answer; from the settlement on, the summary answers. Both agree with the invoices."""
    set_fees(session)
    early = grant(session, make_mediator(session), on=D("2023-01-01"))
    pay(session, early, on=D("2023-12-15"))
    pay(session, early, on=D("2025-03-01"))  # the 2025 period, paid late
    unpaid = grant(session, make_mediator(session), on=D("2023-06-01"), paid=False)
    grant(session, make_mediator(session), on=D("2024-05-05"))
    days = [
        D("2023-01-01"),
        D("2023-06-30"),
        D("2023-12-14"),
        D("2023-12-15"),
        D("2024-12-31"),
        D("2025-02-28"),
        D("2025-03-01"),
        D("2027-01-01"),
    ]
    for day in days:
        assert computed_coverage(session, day) == reference_coverage(session, day), day
    assert computed_coverage(session, D("2025-02-28"))[early.id] == (D("2024-12-31"), None)
    assert computed_coverage(session, D("2025-03-01"))[early.id] == (
        D("2025-12-31"),
        D("2025-03-01"),
    )
    assert computed_coverage(session, D("2025-03-01"))[unpaid.id] == (None, None)
