"""The built wheel carries templates and static files and serves a page outside the source
tree; ``serve`` starts gunicorn and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
# The wheel is built once, on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """Build the wheel and install it (without dependencies) into a folder of its own."""
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(build),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(build.glob("mediator_registry-*.whl"))
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    return site


def outside_env(site: Path, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REGISTRY_ENV", "DATABASE_URL"}}
    env.update(
        PYTHONPATH=str(site),
        REGISTRY_INSTANCE_PATH=str(workdir / "instance"),
        DATABASE_URL=f"sqlite:///{workdir}/registry.sqlite3",
    )
    return env


def test_the_wheel_holds_templates_and_static_files(installed_wheel):
    package = installed_wheel / "registry"
    assert (package / "templates" / "base.html").is_file()
    assert (package / "templates" / "errors" / "error.html").is_file()
    assert (package / "static" / "registry.css").is_file()
    # The certificate PDF's font, with its licence.
    assert (package / "static" / "fonts" / "DejaVuSerif.ttf").is_file()
    assert (package / "static" / "fonts" / "LICENSE").is_file()
    assert (package / "migrations" / "versions").is_dir()


def wait_for(url: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_serve(workdir: Path, env: dict[str, str], *options: str):
    """Start `mediator-registry serve` with one worker on a free port; return (process, port)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--workers", "1",
         *options],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return server, port


def test_the_installed_wheel_serves_pages_outside_the_source_tree(installed_wheel, tmp_path):
    env = outside_env(installed_wheel, tmp_path)
    command = [sys.executable, "-m", "registry.cli"]
    where = subprocess.run(
        [sys.executable, "-c", "import registry; print(registry.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(installed_wheel))
    subprocess.run([*command, "init"], cwd=tmp_path, env=env, check=True)

    server, port = start_serve(tmp_path, env, "--no-scheduler")
    try:
        page = wait_for(f"http://127.0.0.1:{port}/login")
        assert "<h1>Sign in</h1>" in page
        assert "--brand" in wait_for(f"http://127.0.0.1:{port}/static/registry.css")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=40)
    assert server.returncode == 0, output
    assert "Stopped." in output


def test_serve_runs_and_stops_the_scheduler_too(installed_wheel, tmp_path):
    env = outside_env(installed_wheel, tmp_path)
    command = [sys.executable, "-m", "registry.cli"]
    subprocess.run([*command, "init"], cwd=tmp_path, env=env, check=True)
    server, port = start_serve(tmp_path, env)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        time.sleep(2)  # the scheduler runs the daily jobs once at start-up
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=40)
    assert server.returncode == 0, output
    assert "scheduler started" in output
    assert "job purge-reset-links for" in output
    assert "scheduler stopped" in output
