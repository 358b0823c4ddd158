"""Organisations and the training and assessment programs they run; the public directory."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.organisations.models import ProgramType
    from registry.organisations.queries import account_type_label
    from registry.organisations.views import bp

    app.register_blueprint(bp)
    app.add_template_filter(account_type_label, "account_type")
    app.jinja_env.globals["ProgramType"] = ProgramType
