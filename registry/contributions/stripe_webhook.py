"""Stripe's webhook: ``POST /payments/stripe/webhook``, verified with the SDK, acted on once.

Stripe signs each delivery (``Stripe-Signature: t=...,v1=...``, HMAC-SHA256 of
``"<t>.<body>"`` with the endpoint's secret); ``stripe.Webhook.construct_event`` checks it and
the timestamp (the SDK's default tolerance, five minutes). A bad or stale signature gets 400
and changes nothing. A verified event is handled by ``stripe_payments.handle_event`` and
answered 200, except a refund of a payment not recorded yet (409: Stripe sends it again later,
by when the payment has arrived).
"""

import json
import logging

import stripe
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from registry.accounts.permissions import public
from registry.clock import local_today
from registry.contributions.services import ContributionError
from registry.contributions.stripe_payments import SIGNATURE_HEADER, handle_event, record_refused
from registry.database import utcnow
from registry.extensions import db

bp = Blueprint("stripe_webhook", __name__)
log = logging.getLogger(__name__)


@bp.route("/payments/stripe/webhook", methods=["POST"])
@public
def receive_event() -> ResponseReturnValue:
    """Verify a Stripe event and act on it once."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret:
        log.warning("Stripe webhook called from %s but not configured", request.remote_addr)
        return jsonify(error="webhook not configured"), 503
    payload = request.get_data()
    try:
        stripe.Webhook.construct_event(payload, request.headers.get(SIGNATURE_HEADER), secret)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as error:
        log.warning("Stripe webhook refused from %s: %s", request.remote_addr, error)
        return jsonify(error=f"bad signature: {error}"), 400
    except ValueError:
        return jsonify(error="the body is not a JSON event"), 400
    session, now = db.session, utcnow()
    try:
        handled = handle_event(session, event, today=local_today(), now=now)
        session.commit()
    except ContributionError as error:
        session.rollback()
        handled = record_refused(session, event, str(error), now=now)
        session.commit()
        log.warning("Stripe event %s refused: %s", event.get("id"), error)
    except IntegrityError:
        # A second delivery of the same event (or payment) committed first.
        session.rollback()
        return jsonify(status="duplicate", event=event.get("id")), 200
    except (KeyError, TypeError, ValueError) as error:
        session.rollback()
        log.warning("Stripe event %s malformed: %s", event.get("id"), error)
        return jsonify(error=f"not a usable Stripe event: {error}"), 422
    status = 409 if handled.outcome == "deferred" else 200
    return jsonify(status=handled.outcome, detail=handled.detail, invoice=handled.invoice), status
