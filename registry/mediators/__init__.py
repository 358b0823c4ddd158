"""The register: mediator profiles, certifications, their lifecycle, import and export."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.mediators.checklist import step_text
    from registry.mediators.jobs import run_lifecycle
    from registry.mediators.models import Status
    from registry.mediators.views import bp
    from registry.reference import country_name, language_name

    app.register_blueprint(bp)
    app.jinja_env.globals["Status"] = Status
    app.add_template_filter(country_name)
    app.add_template_filter(language_name)
    app.add_template_filter(step_text)
    app.extensions["jobs"].add_daily(
        "lifecycle",
        run_lifecycle,
        "Invoice coming listing periods, log lapses and strikes, send reminders",
    )
