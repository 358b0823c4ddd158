"""The public, read-only JSON API under ``/api/v1``, described by ``/api/v1/openapi.json``."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.api.views import bp

    app.register_blueprint(bp)
