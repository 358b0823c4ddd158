"""How the processes log: readable lines in development, one JSON object a line in production.

``LOG_FORMAT`` (``text`` or ``json``) chooses; production defaults to JSON so a log collector
reads level, logger, message and traceback as fields. gunicorn's own error and access logs
follow the same setting (``registry.gunicorn_config``).
"""

import logging

from pythonjsonlogger.json import JsonFormatter

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def make_formatter(kind: str) -> logging.Formatter:
    """Return the formatter for ``kind`` ("text" or "json")."""
    if kind == "json":
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_root(kind: str) -> None:
    """Give the root logger one handler in the ``kind`` format, unless one is set up already."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(kind))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
