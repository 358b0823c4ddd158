"""Whether this process can serve: the database answers, its schema is the code's, and the
scheduler has shown a sign of life recently."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alembic.runtime.migration import MigrationContext
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from registry.migrate import head_revision
from registry.scheduling.lease import last_heartbeat

log = logging.getLogger(__name__)


@dataclass
class Readiness:
    """The outcome of each check, by name: ``{"ok": bool, ...details}``."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["ok"] for check in self.checks.values())


def check_readiness(session: Session, now: datetime) -> Readiness:
    """Check the database, the schema revision and the scheduler's heartbeat."""
    readiness = Readiness()
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("readiness: the database does not answer: %s", _first_line(error))
        readiness.checks["database"] = {"ok": False, "reason": "the database does not answer"}
        return readiness
    readiness.checks["database"] = {"ok": True}
    readiness.checks["migrations"] = _migrations(session)
    readiness.checks["scheduler"] = _scheduler(session, now)
    return readiness


def _migrations(session: Session) -> dict[str, Any]:
    current = MigrationContext.configure(session.connection()).get_current_revision()
    head = _code_head()
    if current != head:
        return {"ok": False, "reason": f"schema at {current or 'nothing'}, code needs {head}"}
    return {"ok": True, "revision": head}


def _code_head() -> str:
    """The newest migration this code knows (read once per process: it cannot change)."""
    extensions = current_app.extensions
    if "code_head_revision" not in extensions:
        extensions["code_head_revision"] = head_revision(current_app.extensions["db"].engine)
    return extensions["code_head_revision"]


def _scheduler(session: Session, now: datetime) -> dict[str, Any]:
    limit = current_app.config["READY_SCHEDULER_HEARTBEAT_SECONDS"]
    if limit <= 0:
        return {"ok": True, "checked": False}
    heartbeat = last_heartbeat(session)
    if heartbeat is None:
        return {"ok": False, "reason": "no scheduler holds the lease"}
    age = round((now - heartbeat).total_seconds(), 1)
    if age > limit:
        return {"ok": False, "reason": f"last heartbeat {age} s ago (limit {limit} s)"}
    return {"ok": True, "heartbeat_age_seconds": age}


def _first_line(error: BaseException) -> str:
    origin = getattr(error, "orig", None) or error
    return (str(origin).strip().splitlines() or [type(origin).__name__])[0]
