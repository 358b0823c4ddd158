"""Keep the public search index (``listings``) in step with the register.

Every transaction that changes what a listing is made of (a profile, a certification, an
invoice's settlement) refreshes the listings of the mediators concerned just before it commits,
in the same transaction: ``after_flush`` notes who was touched and ``before_commit`` refreshes
them. This is how Warehouse keeps its search index in step with its database, done inside the
transaction instead of after it, so the index can never disagree with a committed register.
Bulk writes that bypass the ORM (the CSV import) call ``refresh_listings`` themselves;
``rebuild_listings`` recomputes the whole index (``mediator-registry search reindex``).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, event, exists, func, insert, select
from sqlalchemy.orm import Session, aliased

from registry.clock import local_today
from registry.contributions.models import Invoice
from registry.database import utcnow
from registry.mediators.models import (
    Certification,
    CertificationType,
    Mediator,
    MediatorLanguage,
    SpecialisationGrant,
    Status,
)
from registry.mediators.queries import certification_id_ranges
from registry.mediators.specialisations import EXPIRY_CATCH_UP_DAYS, live_specialisations
from registry.mediators.status import since, status_rows
from registry.search.models import Listing, facet_words

BATCH = 500
REBUILD_CHUNK = 20_000
_PENDING = "search.pending_mediators"
_PENDING_CERTIFICATIONS = "search.pending_certifications"


def init_app(app: Flask) -> None:
    """Listen to every session of the process (once, however many apps are made)."""
    if not event.contains(Session, "after_flush", _note_changes):
        event.listen(Session, "after_flush", _note_changes)
        event.listen(Session, "before_commit", _refresh_noted)


def _note_changes(session: Session, _context: Any) -> None:
    mediators = session.info.setdefault(_PENDING, set())
    certifications = session.info.setdefault(_PENDING_CERTIFICATIONS, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Mediator):
            mediators.add(instance.id)
        elif isinstance(instance, Certification | MediatorLanguage | SpecialisationGrant):
            mediators.add(instance.mediator_id)
        elif isinstance(instance, Invoice):
            certifications.add(instance.certification_id)


def _refresh_noted(session: Session) -> None:
    session.flush()
    mediator_ids = session.info.pop(_PENDING, set())
    certification_ids = session.info.pop(_PENDING_CERTIFICATIONS, set())
    if certification_ids:
        owners = select(Certification.mediator_id).where(Certification.id.in_(certification_ids))
        mediator_ids.update(session.scalars(owners))
    if mediator_ids:
        refresh_listings(session, mediator_ids)


def refresh_listings(
    session: Session, mediator_ids: Iterable[int], today: date | None = None
) -> None:
    """Recompute the listings of ``mediator_ids`` from the register as of ``today``."""
    today = today or local_today()
    ids = sorted(set(mediator_ids))
    now = utcnow()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        certifications = select(Certification.id).where(Certification.mediator_id.in_(chunk))
        session.execute(delete(Listing).where(Listing.mediator_id.in_(chunk)))
        _insert(session, _listable(today, certification_ids=certifications), today, now)


def rebuild_listings(session: Session, today: date | None = None) -> int:
    """Recompute the whole index as of ``today``; return how many mediators are listed."""
    today = today or local_today()
    now = utcnow()
    session.execute(delete(Listing))
    for ids in certification_id_ranges(session, REBUILD_CHUNK):
        _insert(session, _listable(today, ids=ids), today, now)
    return session.scalar(select(func.count()).select_from(Listing)) or 0


def prune_listings(session: Session, as_of: date, now: datetime) -> dict[str, int]:
    """Drop the listings that ended before ``as_of`` (the daily job; searches skip them).

    Also refresh the listings of mediators a specialisation of whom expired in the last
    ``EXPIRY_CATCH_UP_DAYS`` (time alone ends a grant, so no fact refreshed them).
    """
    result = session.execute(delete(Listing).where(Listing.listed_until < as_of))
    expired = select(SpecialisationGrant.mediator_id).where(
        SpecialisationGrant.valid_until < as_of,
        SpecialisationGrant.valid_until >= as_of - timedelta(days=EXPIRY_CATCH_UP_DAYS),
    )
    mediator_ids = set(session.scalars(expired))
    if mediator_ids:
        refresh_listings(session, mediator_ids, as_of)
    return {"removed": result.rowcount, "refreshed_for_expiry": len(mediator_ids)}


def _listable(today: date, **limits: Any) -> Any:
    """Select the latest grant of each type of each mediator with its status today."""
    later = aliased(Certification)
    is_latest = ~exists().where(
        later.mediator_id == Certification.mediator_id,
        later.certification_type == Certification.certification_type,
        (later.granted_on > Certification.granted_on)
        | ((later.granted_on == Certification.granted_on) & (later.id > Certification.id)),
    )
    return (
        status_rows(today, current_app.config["GRACE_PERIOD_DAYS"], **limits)
        .join(Mediator, Mediator.id == Certification.mediator_id)
        .add_columns(
            Mediator.public_id,
            Mediator.name,
            Mediator.search_name,
            Mediator.country,
            Certification.certification_type,
            Certification.certificate_number,
        )
        .where(is_latest)
    )


_TYPE_ORDER = {kind.value: position for position, kind in enumerate(CertificationType)}


def _insert(session: Session, query: Any, today: date, now: datetime) -> None:
    """Insert one listing per person with a certified certification among ``query``'s rows."""
    grace = current_app.config["GRACE_PERIOD_DAYS"]
    people: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(query):
        if row.status == Status.CERTIFIED.value:
            people[row.mediator_id].append(row)
    if not people:
        return
    languages = _languages(session, list(people))
    specialisations = live_specialisations(session, list(people), today)
    rows = []
    for mediator_id, listed in people.items():
        listed.sort(key=lambda row: _TYPE_ORDER[row.certification_type])
        first = listed[0]
        types = [row.certification_type for row in listed]
        rows.append(
            {
                "mediator_id": mediator_id,
                "certification_id": first.certification_id,
                "public_id": first.public_id,
                "name": first.name,
                "search_name": first.search_name,
                "facets": facet_words(
                    first.country,
                    types,
                    languages[mediator_id],
                    [grant.code for grant in specialisations[mediator_id]],
                ),
                "country": first.country,
                "certification_type": first.certification_type,
                "certificate_number": first.certificate_number,
                "certifications": [
                    {"type": row.certification_type, "certificate_number": row.certificate_number}
                    for row in listed
                ],
                "certified_since": min(since(row, grace) for row in listed),
                # One contribution covers all of a person's certifications.
                "listed_until": max(row.covered_until for row in listed),
                "refreshed_at": now,
            }
        )
    session.execute(insert(Listing), rows)


def _languages(session: Session, mediator_ids: list[int]) -> dict[int, list[str]]:
    """Return the language codes of each mediator."""
    found: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(mediator_ids), BATCH):
        chunk = mediator_ids[start : start + BATCH]
        for mediator_id, code in session.execute(
            select(MediatorLanguage.mediator_id, MediatorLanguage.code).where(
                MediatorLanguage.mediator_id.in_(chunk)
            )
        ):
            found[mediator_id].append(code)
    return found
