"""Only one scheduler runs jobs per database: the lease, its heartbeat, and two real schedulers."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.scheduling.lease import (
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    Holder,
    acquire_lease,
    last_heartbeat,
    release_lease,
    renew_lease,
    this_process,
)
from registry.scheduling.models import SchedulerLease

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def elsewhere(name: str) -> Holder:
    return Holder(f"{name}.example", 4242, "abcd1234")


def test_one_holder_at_a_time_until_the_lease_expires(session):
    first, second = elsewhere("one"), elsewhere("two")
    assert acquire_lease(session, first, NOW)
    assert not acquire_lease(session, second, NOW + timedelta(seconds=5))
    assert renew_lease(session, first, NOW + timedelta(seconds=10))
    # Renewed at +10 s: still held at +10 s + LEASE_SECONDS.
    assert not acquire_lease(session, second, NOW + timedelta(seconds=10 + LEASE_SECONDS))

    later = NOW + timedelta(seconds=11 + LEASE_SECONDS)
    assert acquire_lease(session, second, later)
    assert not renew_lease(session, first, later)  # the first has lost it and must stop
    lease = session.get(SchedulerLease, "scheduler")
    session.refresh(lease)
    assert lease.holder == str(second)
    assert lease.acquired_at == later


def test_the_heartbeat_is_the_last_renewal(session):
    holder = elsewhere("one")
    assert last_heartbeat(session) is None
    acquire_lease(session, holder, NOW)
    renew_lease(session, holder, NOW + timedelta(seconds=10))
    assert last_heartbeat(session) == NOW + timedelta(seconds=10)


def test_a_released_lease_is_free_at_once(session):
    first, second = elsewhere("one"), elsewhere("two")
    acquire_lease(session, first, NOW)
    release_lease(session, first)
    assert acquire_lease(session, second, NOW + timedelta(seconds=1))
    assert last_heartbeat(session) == NOW + timedelta(seconds=1)


def test_a_lease_left_by_an_ended_process_of_this_machine_is_taken_at_once(session):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    me = this_process()
    acquire_lease(session, Holder(me.host, ended.pid, "00000000"), NOW)

    assert acquire_lease(session, me, NOW + timedelta(seconds=1))


def test_a_lease_of_a_live_process_of_this_machine_is_respected(session):
    me = this_process()
    acquire_lease(session, Holder(me.host, os.getppid(), "00000000"), NOW)
    assert not acquire_lease(session, me, NOW + timedelta(seconds=1))


def test_a_lease_of_another_machine_with_a_pid_not_running_here_is_respected(session):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    acquire_lease(session, Holder("other.example/boot", ended.pid, "00000000"), NOW)
    assert not acquire_lease(session, this_process(), NOW + timedelta(seconds=1))


def wait_for_text(path: Path, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in path.read_text():
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.1)


@pytest.mark.slow
def test_a_second_scheduler_waits_until_the_first_stops(fresh_database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_ENV"}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=fresh_database_url,
        REGISTRY_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    command = [sys.executable, "-m", "registry.cli"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    schedulers = []
    for log in logs:
        with log.open("w") as output:
            schedulers.append(
                subprocess.Popen(
                    [*command, "scheduler"], env=env, stdout=output, stderr=subprocess.STDOUT
                )
            )
        if not schedulers[1:]:
            wait_for_text(log, "scheduler started")
    try:
        wait_for_text(logs[1], "another scheduler holds the lease")
        time.sleep(2)
        assert "scheduler started" not in logs[1].read_text()

        schedulers[0].send_signal(signal.SIGTERM)
        assert schedulers[0].wait(timeout=30) == 0
        wait_for_text(logs[1], "scheduler started", seconds=15)
    finally:
        for scheduler in schedulers:
            if scheduler.poll() is None:
                scheduler.send_signal(signal.SIGTERM)
                scheduler.wait(timeout=30)
    assert schedulers[1].returncode == 0


@pytest.mark.slow
def test_a_scheduler_that_loses_the_lease_stops_its_jobs_and_exits(fresh_database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_ENV"}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=fresh_database_url,
        REGISTRY_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    command = [sys.executable, "-m", "registry.cli"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True)
    log = tmp_path / "scheduler.log"
    with log.open("w") as output:
        scheduler = subprocess.Popen(
            [*command, "scheduler"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for_text(log, "scheduler started")
        engine = sa.create_engine(fresh_database_url)
        with engine.begin() as connection:  # as if another took it over after an expiry
            connection.execute(
                sa.text("UPDATE scheduler_lease SET holder = 'elsewhere pid 1 00000000'")
            )
        engine.dispose()
        assert scheduler.wait(timeout=HEARTBEAT_SECONDS + 20) == 1
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    text = log.read_text()
    assert "another scheduler took the lease; stopping the jobs" in text
    assert "it lost the scheduler lease" in text
