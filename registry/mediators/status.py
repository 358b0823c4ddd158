"""A certification's status as of any date, computed in one place: ``status_rows``.

The rules (product brief §1), with C the last day covered by settled invoices as of the date
and G the grace length (a certification granted while its holder held another live one is
covered by that one's invoices: one listing contribution per person, ``covered_by_id``):

* revoked from the revocation date; suspended from the suspension until it is lifted;
* ``applicant`` while nothing is covered yet: a grant takes effect when its first listing
  contribution is paid or waived (until then it is not listed, and it cannot lapse);
* otherwise ``certified`` while the date is on or before C;
* ``lapsed`` from C + 1 through C + G (the grace period);
* ``struck`` from C + G + 1. Services refuse to settle an invoice of a struck certification,
  so once struck, only a new grant (a new certification) makes the person certified again.

``status_rows`` is one SQL query, so the daily job classifies every certification in one
statement and a single lookup uses the same rules; ``since`` derives when the status began.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, null, or_, select
from sqlalchemy.orm import Session, aliased

from registry.clock import local_date
from registry.contributions.models import Invoice
from registry.mediators.models import Certification, Mediator, Status


def grace_days() -> int:
    """Return the configured length of the grace period in days."""
    return current_app.config["GRACE_PERIOD_DAYS"]


# The certification whose invoices cover the one asked about (itself unless covered).
_PAYER = aliased(Certification, name="payer")


def status_rows(
    as_of: date,
    grace: int,
    ids: tuple[int, int] | None = None,
    certification_ids: Collection[int] | None = None,
) -> Select:
    """Select every certification granted on or before ``as_of`` with its status columns.

    ``ids`` limits the query to an inclusive range of certification ids (the daily job works
    through the table range by range), and ``certification_ids`` to those certifications. What
    the invoices cover comes from the payer's summary (``_coverage``), so no invoice is read
    unless the day asked about is before a settlement.

    Columns: ``certification_id``, ``mediator_id``, ``payer_id`` (whose invoices cover it),
    ``status``, ``covered_until`` (None when nothing is covered), ``restored_on`` (last day
    a late settlement made it certified again), and the certification's own dates, which
    ``since`` needs.
    """
    query_filter = []
    if ids is not None:
        query_filter.append(Certification.id.between(*ids))
    if certification_ids is not None:
        query_filter.append(Certification.id.in_(certification_ids))
    payer = func.coalesce(Certification.covered_by_id, Certification.id)
    covered, restored = _coverage(as_of)
    strike_cutoff = as_of - timedelta(days=grace)
    status = case(
        (
            and_(Certification.revoked_on.is_not(None), Certification.revoked_on <= as_of),
            literal(Status.REVOKED.value),
        ),
        (
            and_(
                Certification.suspended_on.is_not(None),
                Certification.suspended_on <= as_of,
                or_(
                    Certification.suspension_lifted_on.is_(None),
                    Certification.suspension_lifted_on > as_of,
                ),
            ),
            literal(Status.SUSPENDED.value),
        ),
        (covered.is_(None), literal(Status.APPLICANT.value)),
        (covered >= as_of, literal(Status.CERTIFIED.value)),
        (covered >= strike_cutoff, literal(Status.LAPSED.value)),
        else_=literal(Status.STRUCK.value),
    )
    return (
        select(
            Certification.id.label("certification_id"),
            Certification.mediator_id,
            payer.label("payer_id"),
            status.label("status"),
            covered.label("covered_until"),
            restored.label("restored_on"),
            Certification.granted_on,
            Certification.suspended_on,
            # A lifting recorded for a later day is no fact yet on ``as_of``.
            case(
                (Certification.suspension_lifted_on <= as_of, Certification.suspension_lifted_on)
            ).label("suspension_lifted_on"),
            Certification.revoked_on,
        )
        .join(_PAYER, _PAYER.id == payer)
        .where(Certification.granted_on <= as_of, *query_filter)
    )


def _coverage(as_of: date) -> tuple[ColumnElement[date], ColumnElement[date]]:
    """Return C (the last day covered) and the last late settlement, as of ``as_of``, in SQL.

    The payer's own summary of its settled invoices (kept by the database, migration 0020)
    holds both whenever every settlement it knows happened by ``as_of``; for an earlier day
    the invoices settled by then are read. NULL when nothing was settled by then.
    """
    summary_holds = _PAYER.last_settled_on <= as_of

    def from_summary(summary: ColumnElement[date], fallback: ColumnElement[date]) -> Any:
        # The summary first, so the CASE has its date type; a NULL last_settled_on (nothing
        # ever settled) fails ``summary_holds`` and answers NULL without reading invoices.
        settled_by_then = (
            select(func.max(fallback))
            .where(Invoice.certification_id == _PAYER.id, Invoice.settled_on <= as_of)
            .scalar_subquery()
        )
        return case(
            (summary_holds, summary),
            (_PAYER.last_settled_on.is_(None), null()),
            else_=settled_by_then,
        )

    late = case((Invoice.settled_on > Invoice.period_start, Invoice.settled_on))
    return (
        from_summary(_PAYER.settled_through, Invoice.period_end),
        from_summary(_PAYER.last_restored_on, late),
    )


def last_covered_day(row: object) -> date:
    """Return C for a status row of a certification that took effect (not an applicant)."""
    return row.covered_until  # type: ignore[attr-defined]


def since(row: object, grace: int) -> date:
    """Return the day the status of a ``status_rows`` row began."""
    status = Status(row.status)  # type: ignore[attr-defined]
    if status is Status.REVOKED:
        return row.revoked_on  # type: ignore[attr-defined]
    if status is Status.SUSPENDED:
        return row.suspended_on  # type: ignore[attr-defined]
    if status is Status.APPLICANT:
        return row.granted_on  # type: ignore[attr-defined]
    covered = last_covered_day(row)
    if status is Status.LAPSED:
        return covered + timedelta(days=1)
    if status is Status.STRUCK:
        return covered + timedelta(days=grace + 1)
    starts = [row.granted_on, row.restored_on]  # type: ignore[attr-defined]
    lifted = row.suspension_lifted_on  # type: ignore[attr-defined]
    if lifted is not None and lifted > row.suspended_on:  # type: ignore[attr-defined]
        starts.append(lifted)  # a same-day lift undoes a suspension that never took effect
    return max(day for day in starts if day is not None)


@dataclass(frozen=True)
class Standing:
    """Where a mediator stands on a date."""

    status: Status
    since: date
    certification: Certification | None
    # The last covered day (None for applicants and when nothing was ever covered).
    covered_until: date | None
    # The last day of grace for a lapsed certification, the day striking happens after.
    grace_ends_on: date | None


def certification_standing(
    session: Session, certification: Certification, as_of: date, grace: int | None = None
) -> Standing:
    """Return the status of ``certification`` on ``as_of``."""
    grace = grace_days() if grace is None else grace
    query = status_rows(as_of, grace, certification_ids=[certification.id])
    row = session.execute(query).one_or_none()
    return standing_from_row(row, certification, as_of, grace)


def standing_from_row(
    row: object | None, certification: Certification, as_of: date, grace: int
) -> Standing:
    """Return the standing that ``certification``'s ``status_rows`` row (or None) gives."""
    if row is None:
        return Standing(Status.APPLICANT, as_of, certification, None, None)
    status = Status(row.status)  # type: ignore[attr-defined]
    grace_ends = last_covered_day(row) + timedelta(days=grace) if status is Status.LAPSED else None
    covered = row.covered_until  # type: ignore[attr-defined]
    return Standing(status, since(row, grace), certification, covered, grace_ends)


def applicant_standing(mediator: Mediator, as_of: date) -> Standing:
    """Return the standing of someone never granted certification: applicant since creation."""
    return Standing(Status.APPLICANT, min(local_date(mediator.created_at), as_of), None, None, None)


def mediator_standings(
    session: Session, mediator: Mediator, as_of: date, grace: int | None = None
) -> list[Standing]:
    """Return the standing of the latest grant of each type by ``as_of``, in type order.

    A person who was never granted certification has one standing: applicant.
    """
    latest = mediator.latest_certifications(as_of)
    if not latest:
        return [applicant_standing(mediator, as_of)]
    return [certification_standing(session, c, as_of, grace) for c in latest]


def primary_standing(standings: list[Standing]) -> Standing:
    """Return the standing that speaks for the person: the first certified, else the latest."""
    for standing in standings:
        if standing.status is Status.CERTIFIED:
            return standing
    return max(
        standings,
        key=lambda s: (s.certification.granted_on, s.certification.id) if s.certification else (),
    )


def mediator_standing(
    session: Session, mediator: Mediator, as_of: date, grace: int | None = None
) -> Standing:
    """Return where ``mediator`` stands on ``as_of`` (``primary_standing`` of their grants)."""
    return primary_standing(mediator_standings(session, mediator, as_of, grace))
