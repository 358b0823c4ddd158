"""Listing contributions: fee schedule, invoices, payments, waivers, the provider webhook."""

from flask import Flask

from registry.extensions import csrf
from registry.reference import format_money


def init_app(app: Flask) -> None:
    from registry.contributions.views import bp
    from registry.contributions.webhook import bp as webhook_bp

    app.register_blueprint(bp)
    app.register_blueprint(webhook_bp)
    app.add_template_filter(format_money, "money")
    # The provider signs its requests with an HMAC instead of a CSRF token.
    csrf.exempt(webhook_bp)
