"""gunicorn settings that need code: ``gunicorn -c python:registry.gunicorn_config``.

``serve`` passes everything else on the command line. Here: workers die with the master, the
Prometheus files of a dead worker are retired, and gunicorn logs in ``LOG_FORMAT``.
"""

import os
import signal

from gunicorn.glogging import Logger

from registry.logs import make_formatter
from registry.processes import die_with_parent


def post_fork(_server, worker) -> None:
    """Make a new worker die with the master (gunicorn's own parent check can wait on a request)."""
    die_with_parent(worker.ppid, signal.SIGKILL)


def child_exit(_server, worker) -> None:
    """Drop a dead worker's live gauges from the shared metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


class RegistryLogger(Logger):
    """gunicorn's logger, with its error and access lines in the registry's ``LOG_FORMAT``."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT") != "json":
            return
        formatter = make_formatter("json")
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)


logger_class = RegistryLogger
