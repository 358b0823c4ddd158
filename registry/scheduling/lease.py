"""The scheduler lease: at most one scheduler runs jobs per database, on any number of machines.

A row in the database names the holder and when its lease expires. The holder renews it every
``HEARTBEAT_SECONDS``; another scheduler takes it only once it has expired (its holder stopped
renewing: killed, cut off from the database), or at once when the holder was a process on
this same machine that no longer exists (a ``serve`` killed hard and started again). A
scheduler that fails to renew in time stops its jobs before another may take over.
"""

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.scheduling.models import SchedulerLease

LEASE_NAME = "scheduler"
HEARTBEAT_SECONDS = 10
LEASE_SECONDS = 30


@dataclass(frozen=True)
class Holder:
    """One scheduler process: its machine, its pid and a token unique to this start."""

    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid} {self.token}"

    @classmethod
    def parse(cls, text: str) -> "Holder | None":
        parts = text.split(" ")
        if len(parts) != 4 or parts[1] != "pid" or not parts[2].isdigit():
            return None
        return cls(parts[0], int(parts[2]), parts[3])


def this_process() -> Holder:
    """Return a holder name for the current process."""
    return Holder(_machine(), os.getpid(), secrets.token_hex(4))


def _machine() -> str:
    """Name this machine: its host name and, on Linux, its boot id.

    The boot id tells two machines (or containers on two machines) apart even when an operator
    gave them the same host name, which would otherwise let one think the other's scheduler
    had ended because its pid is not running here.
    """
    name = socket.gethostname().replace(" ", "_")
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return name
    return f"{name}/{boot}"


def acquire_lease(session: Session, holder: Holder, now: datetime) -> bool:
    """Take or renew the lease for ``holder`` if it is free; return whether ``holder`` has it."""
    if renew_lease(session, holder, now, only_if_expired=True):
        return True
    current = session.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == LEASE_NAME))
    if current is None:
        try:
            with session.begin_nested():
                session.add(SchedulerLease(name=LEASE_NAME, holder=str(holder), **_times(now)))
        except IntegrityError:
            return False  # another scheduler inserted it first
        return True
    if _gone_from_this_machine(current, holder):
        return _take_over(session, current, holder, now)
    return False


def renew_lease(
    session: Session, holder: Holder, now: datetime, *, only_if_expired: bool = False
) -> bool:
    """Extend ``holder``'s lease (or, with ``only_if_expired``, take an expired one)."""
    mine = SchedulerLease.holder == str(holder)
    condition = (mine | (SchedulerLease.expires_at < now)) if only_if_expired else mine
    values = _times(now) | {"holder": str(holder)}
    if not only_if_expired:
        del values["acquired_at"]
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_lease(session: Session, holder: Holder) -> None:
    """Give the lease up, so another scheduler may start at once."""
    session.execute(
        delete(SchedulerLease).where(
            SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == str(holder)
        )
    )


def last_heartbeat(session: Session) -> datetime | None:
    """Return when the scheduler holding the lease last renewed it, or None if none holds it."""
    return session.scalar(
        select(SchedulerLease.heartbeat_at).where(SchedulerLease.name == LEASE_NAME)
    )


def _times(now: datetime) -> dict[str, datetime]:
    return {
        "acquired_at": now,
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=LEASE_SECONDS),
    }


def _gone_from_this_machine(current: str, me: Holder) -> bool:
    """Tell whether the holder was a process on this machine that has ended."""
    other = Holder.parse(current)
    if other is None or other.host != me.host:
        return False
    if other.pid == me.pid:
        return other.token != me.token  # this pid, an earlier process's lease
    try:
        os.kill(other.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a live process of another user
    return False


def _take_over(session: Session, current: str, holder: Holder, now: datetime) -> bool:
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == current)
        .values(holder=str(holder), **_times(now))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
