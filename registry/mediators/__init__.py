"""The register: mediator profiles, certifications, their lifecycle, import and export."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.mediators.jobs import run_lifecycle
    from registry.mediators.views import bp

    app.register_blueprint(bp)
    app.extensions["jobs"].add_daily(
        "lifecycle",
        run_lifecycle,
        "Invoice coming listing periods, log lapses and strikes, send reminders",
    )
