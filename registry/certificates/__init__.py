"""The printable certificate: a PDF of a certification that is certified today."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.certificates.views import bp

    app.register_blueprint(bp)
