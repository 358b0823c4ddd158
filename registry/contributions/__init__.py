"""Listing contributions: fee schedule, invoices, payments, waivers, refunds, the webhooks."""

from flask import Flask

from registry.contributions.models import HoldStatus, PaymentSource, RefundStatus, WaiverStatus
from registry.contributions.receipts import receipt_number
from registry.extensions import csrf
from registry.reference import format_money


def amount_input(amount_minor: int, currency: str) -> str:
    """Return an amount as a form field's value: "150.00", a plain decimal the forms read."""
    return format_money(amount_minor, currency).split(" ")[1]


def init_app(app: Flask) -> None:
    from registry.contributions.stripe_webhook import bp as stripe_webhook_bp
    from registry.contributions.views import bp
    from registry.contributions.webhook import bp as webhook_bp

    app.register_blueprint(bp)
    app.register_blueprint(webhook_bp)
    app.register_blueprint(stripe_webhook_bp)
    app.jinja_env.globals.update(
        WaiverStatus=WaiverStatus, RefundStatus=RefundStatus, HoldStatus=HoldStatus
    )
    app.add_template_filter(amount_input, "amount_input")
    app.add_template_filter(receipt_number, "receipt_number")
    app.add_template_filter(lambda source: PaymentSource(source).label, "payment_source")
    app.add_template_filter(lambda source: PaymentSource(source).method, "payment_method")
    # The providers sign their requests with an HMAC instead of a CSRF token.
    csrf.exempt(webhook_bp)
    csrf.exempt(stripe_webhook_bp)
