"""Reading digests: which one is current for a mediator on a date."""

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.digests.models import Digest


def current_digest(session: Session, mediator_id: int, on: date) -> Digest | None:
    """Return the mediator's digest that is current on ``on`` (the latest published), if any."""
    return session.scalars(
        select(Digest)
        .where(
            Digest.mediator_id == mediator_id,
            Digest.published_on <= on,
            Digest.valid_until >= on,
        )
        .order_by(Digest.published_on.desc(), Digest.id.desc())
        .limit(1)
    ).first()


def latest_digest(session: Session, mediator_id: int) -> Digest | None:
    """Return the mediator's most recently published digest, current or not."""
    return session.scalars(
        select(Digest)
        .where(Digest.mediator_id == mediator_id, Digest.published_on.is_not(None))
        .order_by(Digest.published_on.desc(), Digest.id.desc())
        .limit(1)
    ).first()


def current_digests(session: Session, mediator_ids: Collection[int], on: date) -> dict[int, Digest]:
    """Return the current digest on ``on`` of each of ``mediator_ids`` that has one."""
    found: dict[int, Digest] = {}
    ids = list(mediator_ids)
    for start in range(0, len(ids), 500):  # keep under every database's parameter limit
        rows = session.scalars(
            select(Digest)
            .where(
                Digest.mediator_id.in_(ids[start : start + 500]),
                Digest.published_on <= on,
                Digest.valid_until >= on,
            )
            .order_by(Digest.published_on, Digest.id)
        )
        for digest in rows:
            found[digest.mediator_id] = digest  # the latest wins
    return found
