"""Keep the Bitstring Status Lists in step with the certifications' recorded statuses.

A certification's bits follow ``Certification.recorded_status``, which every service that
changes a status keeps in the same transaction, and which the daily lifecycle job updates when
time alone lapses or strikes one. Like the search index (``registry.search.services``), the
lists are brought in step just before a transaction commits: ``after_flush`` notes the
certifications whose recorded status changed (or that are new), ``before_commit`` gives new
ones their index and sets their bits. Bulk writes that bypass the ORM (the daily job, the CSV
import) call ``update_status_bits`` themselves; ``rebuild_status_lists`` recomputes every bit.
"""

import base64
import gzip
import secrets
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from registry.credentials.models import LIST_SIZE, StatusEntry, StatusList, StatusPurpose
from registry.database import utcnow
from registry.mediators.models import Certification, Status

# A list takes new members until it is this full, so a random free index is found quickly
# and every index keeps many possible owners.
LIST_CAPACITY = LIST_SIZE * 3 // 4
CHUNK = 500
_PENDING = "credentials.pending_certifications"

# The bit a status sets in each purpose's list (no bit: valid).
PURPOSE_OF = {
    Status.STRUCK: StatusPurpose.REVOCATION,
    Status.REVOKED: StatusPurpose.REVOCATION,
    Status.LAPSED: StatusPurpose.SUSPENSION,
    Status.SUSPENDED: StatusPurpose.SUSPENSION,
    # Granted but not in effect yet: not valid until the first contribution is settled.
    Status.APPLICANT: StatusPurpose.SUSPENSION,
}


def init_app(app: Flask) -> None:
    """Listen to every session of the process (once, however many apps are made)."""
    if not event.contains(Session, "after_flush", _note_changes):
        event.listen(Session, "after_flush", _note_changes)
        event.listen(Session, "before_commit", _update_noted)


def _note_changes(session: Session, _context: Any) -> None:
    pending = session.info.setdefault(_PENDING, set())
    for instance in (*session.new, *session.dirty):
        if isinstance(instance, Certification) and (
            instance in session.new or inspect(instance).attrs.recorded_status.history.has_changes()
        ):
            pending.add(instance.id)


def _update_noted(session: Session) -> None:
    session.flush()
    pending = session.info.pop(_PENDING, set())
    if pending:
        update_status_bits(session, pending)


def update_status_bits(session: Session, certification_ids: Iterable[int]) -> None:
    """Give the certifications an index if they have none and set their bits."""
    ids = sorted(set(certification_ids))
    allocate_entries(session, ids)
    for start in range(0, len(ids), CHUNK):
        _set_bits(session, ids[start : start + CHUNK])


def allocate_entries(session: Session, certification_ids: Collection[int]) -> None:
    """Give each certification without one a random free index in the newest list."""
    ids = list(certification_ids)
    have = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        query = select(StatusEntry.certification_id).where(StatusEntry.certification_id.in_(chunk))
        have.update(session.scalars(query))
    missing = [i for i in ids if i not in have]
    if not missing:
        return
    list_id = _newest_list(session)
    used = set(
        session.scalars(select(StatusEntry.status_index).where(StatusEntry.list_id == list_id))
    )
    rows = []
    for certification_id in missing:
        if len(used) >= LIST_CAPACITY:
            list_id, used = _open_list(session, list_id + 1), set()
        index = _free_index(used)
        used.add(index)
        rows.append(
            {"certification_id": certification_id, "list_id": list_id, "status_index": index}
        )
    session.execute(insert(StatusEntry), rows)


def _free_index(used: set[int]) -> int:
    while True:  # at most three in four are taken, so this ends after a few draws
        index = secrets.randbelow(LIST_SIZE)
        if index not in used:
            return index


def _newest_list(session: Session) -> int:
    """Return the newest list's id, locked for this transaction (creating list 0 if none)."""
    newest = session.scalar(select(func.max(StatusList.list_id)))
    if newest is None:
        return _open_list(session, 0)
    # Writers take the newest list in turn, so two never draw the same free index.
    session.execute(select(StatusList).where(StatusList.list_id == newest).with_for_update())
    return newest


def _open_list(session: Session, list_id: int) -> int:
    now = utcnow()
    session.execute(
        insert(StatusList),
        [
            {
                "list_id": list_id,
                "purpose": p.value,
                "bits": bytes(LIST_SIZE // 8),
                "updated_at": now,
            }
            for p in StatusPurpose
        ],
    )
    return list_id


def _set_bits(session: Session, certification_ids: list[int]) -> None:
    rows = session.execute(
        select(StatusEntry.list_id, StatusEntry.status_index, Certification.recorded_status)
        .join(Certification, Certification.id == StatusEntry.certification_id)
        .where(StatusEntry.certification_id.in_(certification_ids))
    ).all()
    by_list: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for list_id, index, status in rows:
        by_list[list_id].append((index, status))
    now = utcnow()
    for list_id, members in by_list.items():
        for purpose, status_list in _locked_lists(session, list_id).items():
            bits = bytearray(status_list.bits)
            for index, status in members:
                _set_bit(bits, index, PURPOSE_OF.get(Status(status)) is purpose)
            if bits != status_list.bits:
                status_list.bits, status_list.updated_at = bytes(bits), now


def _locked_lists(session: Session, list_id: int) -> dict[StatusPurpose, StatusList]:
    query = select(StatusList).where(StatusList.list_id == list_id).with_for_update()
    return {StatusPurpose(row.purpose): row for row in session.scalars(query)}


def _set_bit(bits: bytearray, index: int, value: bool) -> None:
    """Set or clear bit ``index`` of ``bits`` (0 = the first byte's most significant)."""
    mask = 0x80 >> (index % 8)
    if value:
        bits[index // 8] |= mask
    else:
        bits[index // 8] &= ~mask & 0xFF


def rebuild_status_lists(session: Session) -> int:
    """Recompute every bit of every list from the recorded statuses; return the entries."""
    lists: dict[int, dict[StatusPurpose, bytearray]] = {}
    for list_id in session.scalars(select(StatusList.list_id).distinct()):
        lists[list_id] = {p: bytearray(LIST_SIZE // 8) for p in StatusPurpose}
    query = (
        select(StatusEntry.list_id, StatusEntry.status_index, Certification.recorded_status)
        .join(Certification, Certification.id == StatusEntry.certification_id)
        .execution_options(yield_per=20_000)
    )
    count = 0
    for list_id, index, status in session.execute(query):
        purpose = PURPOSE_OF.get(Status(status))
        if purpose is not None:
            lists[list_id][purpose][index // 8] |= 0x80 >> (index % 8)
        count += 1
    now = utcnow()
    for list_id, purposes in lists.items():
        for status_list in _locked_lists(session, list_id).values():
            status_list.bits = bytes(purposes[StatusPurpose(status_list.purpose)])
            status_list.updated_at = now
    session.flush()
    return count


def encoded_list(bits: bytes) -> str:
    """Return a bitstring as Bitstring Status List's ``encodedList``: multibase base64url GZIP."""
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def entry_of(session: Session, certification_id: int) -> StatusEntry | None:
    return session.get(StatusEntry, certification_id)
