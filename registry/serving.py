"""``mediator-registry serve``: gunicorn (gthread) and the scheduler as two child processes.

The parent starts both and stops both on SIGINT or SIGTERM. If the web server dies, it stops
the scheduler and exits with an error, so a supervisor (systemd, a container runtime) sees one
process that lives or fails; a scheduler that dies is started again, later after each quick
failure. The children die with the parent even when it is killed hard (``registry.processes``),
so no orphan keeps the port or runs jobs beside the next ``serve``.
"""

import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click
from flask import current_app

from registry.credentials.keys import signing_key_problem
from registry.extensions import db
from registry.migrate import current_revision, head_revision
from registry.processes import die_with_parent

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 30


def check_schema_ready() -> str | None:
    """Return why the site cannot be served yet (schema, signing key), or None if it can."""
    current, head = current_revision(db.engine), head_revision(db.engine)
    if current != head:
        return (
            f"The database schema is at {current or 'nothing'}, the code needs {head}. "
            "Run `mediator-registry init` first."
        )
    return signing_key_problem(current_app._get_current_object())


ACCESS_LOG_FORMAT = '"%(r)s" %(s)s %(b)s %(M)sms'
# A scheduler that exits is started again after 1 s, then 2, 4, … up to a minute; one that
# ran this long before exiting starts again after 1 s.
FIRST_RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 60.0
STABLE_SECONDS = 60.0
# Temporary directories "<prefix><supervisor pid>-<random>" for the workers' metrics.
METRICS_DIR_PREFIX = "registry-metrics-"


def _commands(host: str, port: int, workers: int, threads: int, with_scheduler: bool):
    web = [
        sys.executable, "-m", "gunicorn",
        "--config", "python:registry.gunicorn_config",
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--threads", str(threads),
        "--bind", f"{host}:{port}",
        "--access-logfile", "-",
        # No client address in the access log: an anonymous complaint's filing time must not
        # be matched to a network address (product brief section 3).
        "--access-logformat", ACCESS_LOG_FORMAT,
        "--graceful-timeout", str(STOP_TIMEOUT_SECONDS - 5),
        # The default control socket is one path per user: two servers would fight over it.
        "--no-control-socket",
        "registry.wsgi:app",
    ]  # fmt: skip
    commands = {"web": web}
    if with_scheduler:
        commands["scheduler"] = [sys.executable, "-m", "registry.cli", "scheduler"]
    return commands


@dataclass
class Child:
    """One supervised process; the scheduler is started again when it exits, the web is not."""

    name: str
    command: list[str]
    env: dict[str, str]
    restarts: bool
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float = FIRST_RESTART_DELAY_SECONDS
    restart_at: float = 0.0

    def start(self) -> None:
        # Own process group: Ctrl-C reaches only the supervisor, which then stops the children
        # gracefully with SIGTERM instead of gunicorn's quick shutdown on SIGINT. And the
        # child dies with the supervisor, however the supervisor ends.
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            start_new_session=True,
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
        )
        self.started_at = time.monotonic()

    def exited(self) -> bool:
        """Tell whether the process has ended (and is not yet restarted)."""
        return self.process is not None and self.process.poll() is not None

    def schedule_restart(self) -> None:
        """Note the exit and when to start again: later after each quick failure."""
        lived = time.monotonic() - self.started_at
        if lived >= STABLE_SECONDS:
            self.delay = FIRST_RESTART_DELAY_SECONDS
        log.error(
            "the %s process exited with code %s after %.0f s; starting it again in %.0f s",
            self.name, self.process.returncode, lived, self.delay,
        )  # fmt: skip
        self.process = None
        self.restart_at = time.monotonic() + self.delay
        self.delay = min(self.delay * 2, MAX_RESTART_DELAY_SECONDS)

    def restart_if_due(self) -> None:
        if self.process is None and time.monotonic() >= self.restart_at:
            log.info("starting the %s process again", self.name)
            self.start()


def supervise(
    host: str, port: int, workers: int, threads: int, *, with_scheduler: bool, log_format: str
) -> int:
    """Run the web server (and the scheduler) until a signal or the web server's death."""
    stopping = threading.Event()
    # Links in e-mail must point where the site really is, unless PUBLIC_URL says otherwise.
    os.environ.setdefault("PUBLIC_URL", f"http://{host}:{port}")

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with metrics_directory() as metrics_dir:
        env = {**os.environ, "LOG_FORMAT": log_format}
        # Only the web workers count into the shared directory; the scheduler's figures are
        # in the database.
        scheduler_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        envs = {"web": {**env, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}, "scheduler": scheduler_env}
        children = [
            Child(name, command, envs[name], restarts=name == "scheduler")
            for name, command in _commands(host, port, workers, threads, with_scheduler).items()
        ]
        for child in children:
            child.start()
        click.echo(f"Mediator Registry is serving at http://{host}:{port}/  (Ctrl-C stops it)")
        if not with_scheduler:
            click.echo("The scheduler is not running here: run `mediator-registry scheduler` once.")
        dead = _watch(children, stopping)
        _stop_all(children)
    if dead is not None:
        click.echo(f"The {dead} process exited; everything is stopped.", err=True)
        return 1
    click.echo("Stopped.")
    return 0


def _watch(children: list[Child], stopping: threading.Event) -> str | None:
    """Wait for a signal (return None) or the death of a child that is not restarted (its name)."""
    while not stopping.is_set():
        for child in children:
            if child.exited():
                if not child.restarts:
                    return child.name
                child.schedule_restart()
            if child.restarts:
                child.restart_if_due()
        stopping.wait(0.5)
    return None


@contextmanager
def metrics_directory() -> Iterator[str]:
    """Give the web workers an empty directory for their shared Prometheus counts.

    prometheus_client's multiprocess mode keeps each worker's counts in files there, summed at
    scrape time; files of an earlier run would count twice, so the directory starts empty (an
    operator's own PROMETHEUS_MULTIPROC_DIR is emptied of its counts too).
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield given
        return
    _remove_orphaned_metrics_directories()
    made = tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-")
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def _remove_orphaned_metrics_directories() -> None:
    """Remove the metrics directories of earlier ``serve`` processes that were killed hard."""
    for directory in Path(tempfile.gettempdir()).glob(f"{METRICS_DIR_PREFIX}*-*"):
        pid = directory.name.removeprefix(METRICS_DIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _is_running(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_all(children: list[Child]) -> None:
    running = [child.process for child in children if child.process is not None]
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
