"""Program audits: scheduling, the Appraisal Committee, conflict declarations, document
requests, reports and sign-off (product brief §2).

Registered by ``create_app`` through ``registry.DOMAINS``; the registry's kernel never imports
this package by name. The organisations pages learn programs' public statuses through the
``program_statuses`` hook this package installs.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from audits import views
    from audits.jobs import sweep_audits
    from audits.queries import program_statuses

    views.register(app)
    app.extensions["program_statuses"] = program_statuses
    app.extensions["jobs"].add_daily(
        "audits",
        sweep_audits,
        "Schedule program audits, open them ahead of their due date, remind, mark overdue;"
        " remind organisations of overdue document requests",
    )
