"""Listing contributions: fee schedule, invoices, payments, waivers, the provider webhook."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.contributions.views import bp

    app.register_blueprint(bp)
