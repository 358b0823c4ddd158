"""Program audits: scheduling, the Appraisal Committee, conflict declarations, document
requests, reports and sign-off (product brief §2).

Registered by ``create_app`` through ``registry.DOMAINS``; the registry's kernel never imports
this package by name. The organisations pages learn programs' public statuses through the
``program_statuses`` hook this package installs.
"""

from collections.abc import Iterable
from datetime import date

from flask import Flask, current_app
from sqlalchemy.orm import Session

from audits.schedule import ProgramStatus


def init_app(app: Flask) -> None:
    from audits import views
    from audits.demo import load_audit_demo
    from audits.documents.storage import FOLDER
    from audits.jobs import sweep_audits
    from audits.models import AuditDocument
    from registry.uploads import register_folder

    views.register(app)
    register_folder(app, AuditDocument.storage_name, **FOLDER)
    app.extensions["program_statuses"] = public_program_statuses
    app.extensions.setdefault("demo_loaders", []).append(load_audit_demo)
    app.extensions["jobs"].add_daily(
        "audits",
        sweep_audits,
        "Schedule program audits, open them ahead of their due date, remind, mark overdue;"
        " remind organisations of overdue document requests",
    )


def public_program_statuses(
    session: Session, program_ids: Iterable[int], today: date
) -> dict[int, ProgramStatus]:
    """Return each program's public status on ``today`` (the organisations pages' hook)."""
    from audits.queries import program_statuses

    return program_statuses(session, program_ids, today, current_app.config["AUDIT_LEAD_DAYS"])
