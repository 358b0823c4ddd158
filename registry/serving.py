"""``mediator-registry serve``: gunicorn (gthread) and the scheduler as two child processes.

The parent starts both, stops both on SIGINT or SIGTERM, and stops the survivor if either
dies, so a supervisor (systemd, a container runtime) sees one process that lives or fails.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

import click
from flask import current_app

from registry.credentials.keys import signing_key_problem
from registry.extensions import db
from registry.migrate import current_revision, head_revision

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


def _commands(host: str, port: int, workers: int, threads: int, with_scheduler: bool):
    web = [
        sys.executable, "-m", "gunicorn",
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


def supervise(host: str, port: int, workers: int, threads: int, *, with_scheduler: bool) -> int:
    """Run the web server (and the scheduler) until a signal or a child's death; return a code."""
    stopping = threading.Event()
    # Links in e-mail must point where the site really is, unless PUBLIC_URL says otherwise.
    os.environ.setdefault("PUBLIC_URL", f"http://{host}:{port}")

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Own process groups: Ctrl-C reaches only this parent, which then stops the children
    # gracefully with SIGTERM instead of gunicorn's quick shutdown on SIGINT.
    children = {
        name: subprocess.Popen(command, start_new_session=True)
        for name, command in _commands(host, port, workers, threads, with_scheduler).items()
    }
    click.echo(f"Mediator Registry is serving at http://{host}:{port}/  (Ctrl-C stops it)")
    if not with_scheduler:
        click.echo("The scheduler is not running here: run `mediator-registry scheduler` once.")
    dead = None
    while not stopping.is_set() and dead is None:
        dead = next((name for name, child in children.items() if child.poll() is not None), None)
        stopping.wait(0.5)
    _stop_all(children)
    if dead is not None:
        click.echo(f"The {dead} process exited; everything is stopped.", err=True)
        return 1
    click.echo("Stopped.")
    return 0


def _stop_all(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
