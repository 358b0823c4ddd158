"""Listing contributions: fee schedule, invoices, payments, waivers, the provider webhook."""

from flask import Flask

from registry.extensions import csrf


def init_app(app: Flask) -> None:
    from registry.contributions.views import bp
    from registry.contributions.webhook import bp as webhook_bp

    app.register_blueprint(bp)
    app.register_blueprint(webhook_bp)
    # The provider signs its requests with an HMAC instead of a CSRF token.
    csrf.exempt(webhook_bp)
