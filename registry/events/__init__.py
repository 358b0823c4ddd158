"""The append-only event log: who did what, when, why, to which subject."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.events.views import bp

    app.register_blueprint(bp)
