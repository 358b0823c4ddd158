"""The payment provider's webhook: signed notices of payments received, each recorded once.

The provider POSTs a JSON notice to ``/payments/webhook`` with the header
``Registry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, the MAC taken over
``b"<t>." + raw body`` with ``PAYMENT_WEBHOOK_SECRET``. The timestamp bounds replays to
``PAYMENT_WEBHOOK_TOLERANCE_SECONDS``; the provider's payment id bounds each payment to one
record, even when the same notice arrives twice at the same moment. A payment for an invoice
already settled, or for more than it owes, is not booked: it is held for staff to review
(``services.hold_payment``), who are told by e-mail.
"""

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.accounts.permissions import public
from registry.clock import local_today
from registry.contributions.models import (
    HeldPayment,
    Invoice,
    Payment,
    format_invoice_number,
    parse_invoice_number,
)
from registry.contributions.services import (
    ContributionError,
    ProviderPayment,
    receive_provider_payment,
    recorded_with_reference,
)
from registry.database import utcnow
from registry.extensions import db
from registry.reference import CURRENCIES

bp = Blueprint("payment_webhook", __name__)
log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Registry-Signature"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAC = re.compile(r"[0-9a-f]{64}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_REFERENCE_LENGTH = 100  # payments.provider_reference
# Integer columns (invoice ids, amounts) are 32-bit on PostgreSQL; larger values cannot be stored.
MAX_INTEGER = 2**31 - 1
FIELD_TYPES = {
    "reference": str,
    "invoice": str,
    "amount_minor": int,
    "currency": str,
    "paid_on": str,
}


class SignatureError(ValueError):
    """A webhook request whose signature cannot be trusted."""


class NoticeError(ValueError):
    """A signed webhook body that is not a usable payment notice."""


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Return the ``Registry-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def _parse_signature(header: str) -> tuple[int, str]:
    """Return the timestamp and MAC of a signature header; other fields are ignored."""
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals or key in fields:
            raise SignatureError(f"malformed {SIGNATURE_HEADER} header")
        fields[key] = value
    timestamp, mac = fields.get("t", ""), fields.get("v1", "").lower()
    if not _TIMESTAMP.fullmatch(timestamp) or not _MAC.fullmatch(mac):
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header")
    return int(timestamp), mac


def verify_signature(
    secret: str, header: str | None, body: bytes, now: float, tolerance: int
) -> None:
    """Raise SignatureError unless ``header`` signs ``body`` with ``secret`` near ``now``."""
    if not secret:
        raise ValueError("no webhook secret: an empty key would let anyone sign")
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp, mac = _parse_signature(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} seconds from now")
    if not hmac.compare_digest(mac, _mac(secret, body, timestamp)):
        raise SignatureError("signature does not match")


@dataclass(frozen=True)
class PaymentNotice:
    """What the provider says it received."""

    reference: str
    invoice_id: int
    amount_minor: int
    currency: str
    paid_on: date


def _check_types(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise NoticeError("the body must be a JSON object")
    for name, kind in FIELD_TYPES.items():
        if name not in data:
            raise NoticeError(f"{name} is missing")
        value = data[name]
        # bool is an int subclass, and 15000.0 is a float: neither is an amount.
        if isinstance(value, bool) or not isinstance(value, kind):
            raise NoticeError(f"{name} must be {'an integer' if kind is int else 'a string'}")
    return data


def _check_values(data: dict[str, Any], today: date) -> PaymentNotice:
    reference, number, amount = data["reference"], data["invoice"], data["amount_minor"]
    if not 1 <= len(reference) <= MAX_REFERENCE_LENGTH or reference != reference.strip():
        raise NoticeError(
            f"reference must be 1 to {MAX_REFERENCE_LENGTH} characters, no outer spaces"
        )
    invoice_id = parse_invoice_number(number)
    if invoice_id is None:
        raise NoticeError(f"invoice {number!r} is not an invoice number like INV-0000042")
    if amount <= 0:
        raise NoticeError("amount_minor must be more than zero")
    if amount > MAX_INTEGER:
        raise NoticeError(f"amount_minor must be at most {MAX_INTEGER}")
    if data["currency"] not in CURRENCIES:
        raise NoticeError(f"unknown currency {data['currency']!r}; use an ISO 4217 code")
    paid_on = _check_date(data["paid_on"])
    if paid_on > today:
        raise NoticeError(f"paid_on {paid_on.isoformat()} is in the future")
    return PaymentNotice(reference, invoice_id, amount, data["currency"], paid_on)


def _check_date(value: str) -> date:
    try:
        day = date.fromisoformat(value) if _ISO_DATE.fullmatch(value) else None
    except ValueError:  # 2025-02-30
        day = None
    if day is None:
        raise NoticeError(f"paid_on {value!r} is not a date like 2026-11-20")
    return day


def parse_notice(body: bytes, today: date) -> PaymentNotice:
    """Return the payment notice in ``body``; raise NoticeError saying what is wrong."""
    try:
        data = json.loads(body)
    except ValueError:
        raise NoticeError("the body is not valid JSON") from None
    return _check_values(_check_types(data), today)


def _error(message: str, status: int) -> ResponseReturnValue:
    return jsonify(error=message), status


def _booked_with_reference(session: Session, reference: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.provider_reference == reference))


def _duplicate(recorded: Payment | HeldPayment) -> ResponseReturnValue:
    if isinstance(recorded, HeldPayment):
        return jsonify(status="duplicate", held_payment_id=recorded.id), 200
    return jsonify(status="duplicate", payment_id=recorded.id), 200


@bp.route("/payments/webhook", methods=["POST"])
@public
def receive_payment() -> ResponseReturnValue:
    """Record a payment the provider reports, at most once per provider reference."""
    config = current_app.config
    if not config["PAYMENT_WEBHOOK_SECRET"]:
        log.warning("Payment webhook called from %s but not configured", request.remote_addr)
        return _error("webhook not configured", 503)
    body = request.get_data()
    try:
        verify_signature(
            config["PAYMENT_WEBHOOK_SECRET"],
            request.headers.get(SIGNATURE_HEADER),
            body,
            time.time(),
            config["PAYMENT_WEBHOOK_TOLERANCE_SECONDS"],
        )
    except SignatureError as error:
        log.warning("Payment webhook refused from %s: %s", request.remote_addr, error)
        return _error(str(error), 400)
    if not request.is_json:
        return _error("send the notice as application/json", 415)
    today = local_today()
    try:
        notice = parse_notice(body, today)
    except NoticeError as error:
        log.warning("Payment webhook notice refused: %s", error)
        return _error(str(error), 422)
    return _record(db.session, notice, today)


def _record(session: Session, notice: PaymentNotice, today: date) -> ResponseReturnValue:
    """Book or hold ``notice`` (the service staff's payments go through too) and commit."""
    existing = recorded_with_reference(session, notice.reference)
    if existing is not None:
        return _duplicate(existing)
    invoice = session.get(Invoice, notice.invoice_id) if notice.invoice_id <= MAX_INTEGER else None
    if invoice is None:
        return _error(f"unknown invoice {format_invoice_number(notice.invoice_id)}", 422)
    given = ProviderPayment(notice.reference, notice.amount_minor, notice.currency, notice.paid_on)
    try:
        receipt = receive_provider_payment(session, invoice, given, today=today, now=utcnow())
        # A twin delivery may have booked it since our first look (and settled the invoice,
        # which is why this one is held): then this one is the duplicate.
        booked = _booked_with_reference(session, notice.reference) if receipt.held else None
        if booked is not None:
            session.rollback()
            return _duplicate(booked)
        session.commit()
    except ContributionError as error:
        session.rollback()
        log.warning("Payment webhook notice %s refused: %s", notice.reference, error)
        return _error(str(error), 422)
    except IntegrityError:
        # Another delivery of the same notice committed between our lookup and our insert.
        session.rollback()
        existing = recorded_with_reference(session, notice.reference)
        if existing is None:
            raise
        return _duplicate(existing)
    if receipt.outcome == "duplicate":
        return _duplicate(receipt.payment or receipt.held)
    if receipt.held is not None:
        held = receipt.held
        log.warning("Payment webhook notice %s held for review: %s", notice.reference, held.reason)
        return jsonify(
            status="held", held_payment_id=held.id, invoice=invoice.number, reason=held.reason
        ), 202
    return jsonify(
        status="recorded",
        payment_id=receipt.payment.id,
        invoice=invoice.number,
        balance_minor=invoice.balance_minor,
        certification_status=receipt.change.after.status.value,
    ), 201
