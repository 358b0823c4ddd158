"""`serve` with real processes: its children never outlive it, and a crashed scheduler returns.

Each test starts `mediator-registry serve` (gunicorn with two workers, and the scheduler) on a
free port with a SQLite database of its own, then kills or stops it and looks at /proc.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.test_packaging import wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")]


def process_table() -> dict[int, tuple[int, str]]:
    """Return every live process as pid: (parent pid, state); zombies count as ended."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (command) state ppid ...": the command may hold spaces and parentheses.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state != "Z":
            table[int(entry.name)] = (int(ppid), state)
    return table


def descendants(pid: int) -> set[int]:
    table = process_table()
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, (parent, _) in table.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(process_table())


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(condition, seconds: float) -> float | None:
    """Poll ``condition`` until true; return the seconds it took, or None if it never was."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def start_serve(workdir: Path, port: int, log: Path) -> subprocess.Popen:
    """Start `serve` (two workers and the scheduler) on ``port``; wait until it serves."""
    env = {k: v for k, v in os.environ.items() if k not in {"REGISTRY_ENV", "DATABASE_URL"}}
    env.update(
        PYTHONPATH=str(ROOT),
        REGISTRY_INSTANCE_PATH=str(workdir / "instance"),
        DATABASE_URL=f"sqlite:///{workdir}/registry.sqlite3",
    )
    command = [sys.executable, "-m", "registry.cli"]
    subprocess.run([*command, "init"], cwd=workdir, env=env, check=True, capture_output=True)
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--workers", "2"],
            cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        assert wait_until(lambda: "scheduler lease taken" in log.read_text(), 30), log.read_text()
    except BaseException:
        stop(server, descendants(server.pid))
        raise
    return server


def stop(server: subprocess.Popen, children: set[int]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
    for orphan in alive(children):  # only when a test failed: leave nothing behind
        os.kill(orphan, signal.SIGKILL)


@pytest.fixture
def served(tmp_path):
    """`serve` on a free port; yield (process, port, log file); stopped in any case."""
    port, log = free_port(), tmp_path / "serve.log"
    server = start_serve(tmp_path, port, log)
    children = descendants(server.pid)
    try:
        yield server, port, log
    finally:
        stop(server, children)


def test_sigkill_of_the_supervisor_leaves_no_child_and_frees_the_port(served):
    server, port, log = served
    children = descendants(server.pid)
    # gunicorn's master, its two workers, the scheduler.
    assert len(children) >= 4, (children, log.read_text())
    assert not port_is_free(port)

    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=5)
    took = wait_until(lambda: not alive(children) and port_is_free(port), 5)

    assert took is not None, (alive(children), log.read_text())
    print(f"\nafter SIGKILL: {len(children)} children gone and port free in {took:.2f} s")


def test_after_a_sigkill_the_next_serve_takes_the_port_and_the_lease_at_once(served, tmp_path):
    server, port, _log = served
    metrics_dirs = set(Path(tempfile.gettempdir()).glob(f"registry-metrics-{server.pid}-*"))
    assert len(metrics_dirs) == 1
    children = descendants(server.pid)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=5)
    assert wait_until(lambda: not alive(children) and port_is_free(port), 5) is not None

    log = tmp_path / "again.log"
    again = start_serve(tmp_path, port, log)
    try:
        # The killed scheduler's lease is not waited out: its process is gone from this machine.
        assert "another scheduler holds the lease" not in log.read_text()
        assert not any(directory.exists() for directory in metrics_dirs)
    finally:
        stop(again, descendants(again.pid))


def test_sigterm_stops_everything_gracefully(served):
    server, port, log = served
    children = descendants(server.pid)

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=35) == 0
    assert alive(children) == set()
    assert port_is_free(port)
    text = log.read_text()
    assert "scheduler stopped" in text
    assert "Stopped." in text


def test_a_crashed_scheduler_is_started_again_and_takes_the_lease_back(served):
    server, port, log = served
    table = process_table()
    scheduler = next(
        pid
        for pid in descendants(server.pid)
        if b"scheduler" in Path(f"/proc/{pid}/cmdline").read_bytes() and table[pid][0] == server.pid
    )

    os.kill(scheduler, signal.SIGKILL)

    restarted = wait_until(lambda: log.read_text().count("scheduler lease taken") == 2, 20)
    assert restarted is not None, log.read_text()
    text = log.read_text()
    assert f"exited with code {-signal.SIGKILL}" in text
    assert "starting the scheduler process again" in text
    assert server.poll() is None
    assert json.loads(wait_for(f"http://127.0.0.1:{port}/healthz")) == {"status": "ok"}
