"""Online payment through Stripe Checkout: sessions, refunds, and what Stripe's webhook reports.

The mediator's "Pay now" asks Stripe (through the official SDK, at ``STRIPE_API_BASE``) for a
Checkout Session for the invoice's outstanding amount and goes there. Nothing is booked then:
money counts when Stripe's signed webhook says it was paid, and goes through the same service
as the provider-neutral webhook (``services.receive_provider_payment``), dated the day Stripe
received it in the registry's calendar, once per event id and once per PaymentIntent. Staff
refunds go to Stripe's Refunds API and count when ``charge.refunded`` confirms them, which is
also how refunds made in Stripe's dashboard arrive.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import stripe
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.accounts.models import User
from registry.clock import local_date
from registry.contributions.models import (
    HeldPayment,
    Invoice,
    Payment,
    PaymentSource,
    Refund,
    RefundStatus,
    StripeEvent,
    parse_invoice_number,
)
from registry.contributions.services import (
    ContributionError,
    ProviderPayment,
    ask_refund,
    check_open,
    check_refund,
    confirm_refund,
    fail_refund,
    receive_provider_payment,
)
from registry.events.services import record_event
from registry.formatting import format_day
from registry.mail.services import queue_template_mail
from registry.mediators.models import Mediator
from registry.reference import format_money
from registry.web import CONTENT_SECURITY_POLICY

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
DASHBOARD = "https://dashboard.stripe.com"
CHECKOUT_ORIGIN = "https://checkout.stripe.com"


class StripeUnavailable(RuntimeError):
    """Stripe could not be asked (not configured, unreachable, or it refused)."""


def is_configured() -> bool:
    """Return whether online payment is set up: an API key and the webhook's secret."""
    config = current_app.config
    return bool(config["STRIPE_SECRET_KEY"] and config["STRIPE_WEBHOOK_SECRET"])


def client() -> stripe.StripeClient:
    """Return an SDK client for the configured key and API address."""
    if not is_configured():
        raise StripeUnavailable(_("Online payment is not configured."))
    config = current_app.config
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": config["STRIPE_API_BASE"]},
        # Retries carry the same idempotency key, so they never make a second session.
        max_network_retries=2,
    )


def checkout_origin() -> str:
    """Return where Checkout pages are served: Stripe's, or the stand-in's at a custom API base."""
    base = current_app.config["STRIPE_API_BASE"]
    if base == stripe.DEFAULT_API_BASE:
        return CHECKOUT_ORIGIN
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy() -> str:
    """Return the site's policy, letting the "Pay now" form's redirect reach Checkout.

    Browsers apply ``form-action`` to the redirect that follows a form's POST too.
    """
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {checkout_origin()}"
    )


def dashboard_url(kind: str, stripe_id: str) -> str:
    """Return the Stripe dashboard page of a payment ("payments") or other object."""
    test = (
        "/test"
        if current_app.config["STRIPE_SECRET_KEY"].startswith(("sk_test", "rk_test"))
        else ""
    )
    return f"{DASHBOARD}{test}/{kind}/{stripe_id}"


# -- Checkout ------------------------------------------------------------------------------


def checkout_params(
    invoice: Invoice, mediator: Mediator, *, success_url: str, cancel_url: str
) -> dict[str, Any]:
    """Return the Checkout Session for paying what is owed on ``invoice``."""
    # What the payer reads on Checkout is in the page's language; the rest is for staff.
    period = _(
        "%(start)s to %(end)s",
        start=format_day(invoice.period_start),
        end=format_day(invoice.period_end),
    )
    certificate = invoice.certification.certificate_number
    metadata = {"invoice": invoice.number, "certificate_number": certificate}
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": invoice.currency.lower(),
                    "unit_amount": invoice.balance_minor,
                    "product_data": {
                        "name": _("Listing contribution %(period)s", period=period),
                        "description": _(
                            "Invoice %(number)s, certificate %(certificate)s",
                            number=invoice.number,
                            certificate=certificate,
                        ),
                    },
                },
            }
        ],
        "client_reference_id": invoice.number,
        "metadata": metadata,
        "payment_intent_data": {
            "description": f"Listing contribution, invoice {invoice.number}",
            "metadata": metadata,
        },
        "customer_email": mediator.email,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }


def checkout_idempotency_key(invoice: Invoice, params: dict[str, Any]) -> str:
    """One key per invoice and amount (a double click makes one session).

    A digest of the other parameters is added because Stripe refuses a key reused with
    different parameters (say, after the mediator changed their e-mail address).
    """
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    return f"checkout-{invoice.number}-{invoice.balance_minor}-{invoice.currency}-{digest}"


def start_checkout(
    session: Session,
    invoice: Invoice,
    *,
    today: date,
    now: datetime,
    actor: User,
    success_url: str,
    cancel_url: str,
) -> str:
    """Ask Stripe for a Checkout Session paying what ``invoice`` owes; return its address."""
    if invoice.balance_minor <= 0:
        raise ContributionError(_("Nothing is owed on invoice %(number)s.", number=invoice.number))
    check_open(session, invoice, today)
    mediator = invoice.certification.mediator
    params = checkout_params(invoice, mediator, success_url=success_url, cancel_url=cancel_url)
    key = checkout_idempotency_key(invoice, params)
    try:
        checkout = client().v1.checkout.sessions.create(params, {"idempotency_key": key})
    except stripe.StripeError as error:
        log.warning("Stripe refused a Checkout Session for %s: %s", invoice.number, error)
        raise StripeUnavailable(error.user_message or _("Stripe did not answer.")) from error
    record_event(
        session,
        action="payment.checkout_started",
        subject_type="invoice",
        subject_id=invoice.number,
        now=now,
        actor=actor,
        data={
            "stripe_checkout_session": checkout.id,
            "amount": format_money(invoice.balance_minor, invoice.currency),
        },
    )
    return checkout.url


# -- Refunds ---------------------------------------------------------------------------------


def refund_payment(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    reason: str,
    now: datetime,
    actor: User,
) -> Refund:
    """Ask Stripe to refund ``amount_minor`` of a Stripe payment; it counts once confirmed."""
    check_refund(payment, amount_minor, reason)
    params = {
        "payment_intent": payment.provider_reference,
        "amount": amount_minor,
        "metadata": {"invoice": payment.invoice.number, "payment_id": str(payment.id)},
    }
    # One key per refund of the payment: a retry of this request never refunds twice.
    key = f"refund-{payment.id}-{len(payment.refunds) + 1}-{amount_minor}"
    try:
        refund = client().v1.refunds.create(params, {"idempotency_key": key})
    except stripe.StripeError as error:
        log.warning("Stripe refused a refund of payment %s: %s", payment.id, error)
        raise StripeUnavailable(error.user_message or str(error)) from error
    return ask_refund(
        session,
        payment,
        amount_minor=amount_minor,
        reason=reason,
        stripe_refund_id=refund.id,
        now=now,
        actor=actor,
    )


# -- The webhook -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handled:
    """What the registry did with one Stripe event."""

    outcome: str  # recorded, held, duplicate, awaiting, failed, refunded, ignored, deferred, ...
    detail: str
    invoice: str | None = None

    @property
    def keep(self) -> bool:
        """Whether the event is done with (a deferred one is handled when Stripe resends it)."""
        return self.outcome != "deferred"


def handle_event(session: Session, event: dict[str, Any], *, today: date, now: datetime) -> Handled:
    """Act once on a verified Stripe event and log what was done."""
    event_id, kind = str(event.get("id", "")), str(event.get("type", ""))
    if not event_id.startswith("evt_"):
        raise ValueError("not a Stripe event")
    if session.get(StripeEvent, event_id) is not None:
        return Handled("duplicate", f"event {event_id} was handled already")
    created = datetime.fromtimestamp(int(event["created"]), UTC)
    handler = HANDLERS.get(kind)
    if handler is None:
        handled = Handled("ignored", f"{kind} is not an event the registry acts on")
    else:
        handled = handler(session, event["data"]["object"], local_date(created), today, now)
    if handled.keep:
        session.add(
            StripeEvent(
                id=event_id,
                type=kind,
                created_at=created,
                received_at=now,
                outcome=handled.outcome,
                detail=handled.detail,
            )
        )
    record_event(
        session,
        action=f"stripe.{handled.outcome}",
        subject_type="invoice" if handled.invoice else "stripe_event",
        subject_id=handled.invoice or event_id,
        now=now,
        reason=handled.detail,
        data={"event_id": event_id, "type": kind},
    )
    session.flush()
    return handled


def record_refused(
    session: Session, event: dict[str, Any], detail: str, *, now: datetime
) -> Handled:
    """Note an event whose report the rules refuse (say, a refund of a voided payment)."""
    event_id, kind = str(event["id"]), str(event.get("type", ""))
    created = datetime.fromtimestamp(int(event["created"]), UTC)
    session.add(
        StripeEvent(
            id=event_id, type=kind, created_at=created, received_at=now, outcome="refused",
            detail=detail,
        )
    )  # fmt: skip
    record_event(
        session,
        action="stripe.refused",
        subject_type="stripe_event",
        subject_id=event_id,
        now=now,
        reason=detail,
        data={"event_id": event_id, "type": kind},
    )
    session.flush()
    return Handled("refused", detail)


def _invoice_of(session: Session, checkout: dict[str, Any]) -> Invoice | None:
    number = (checkout.get("metadata") or {}).get("invoice") or checkout.get("client_reference_id")
    invoice_id = parse_invoice_number(str(number or ""))
    invoice = session.get(Invoice, invoice_id) if invoice_id and invoice_id < 2**31 else None
    # A session made by something else on the same Stripe account may quote a number that
    # happens to exist here: the certificate number the registry put beside it must match.
    certificate = (checkout.get("metadata") or {}).get("certificate_number")
    if invoice is not None and certificate != invoice.certification.certificate_number:
        return None
    return invoice


def _receive(
    session: Session, checkout: dict[str, Any], received_on: date, today: date, now: datetime
) -> Handled:
    invoice = _invoice_of(session, checkout)
    if invoice is None:
        return Handled("unmatched", f"Checkout Session {checkout.get('id')} names no invoice here")
    intent = checkout.get("payment_intent")
    if not intent or not checkout.get("amount_total") or not checkout.get("currency"):
        return Handled("unmatched", "the session has no payment intent, amount or currency")
    receipt = receive_provider_payment(
        session,
        invoice,
        ProviderPayment(
            reference=str(intent),
            amount_minor=int(checkout["amount_total"]),
            currency=str(checkout["currency"]).upper(),
            paid_on=received_on,
            source=PaymentSource.STRIPE,
            stripe_checkout_session=str(checkout["id"]),
        ),
        today=today,
        now=now,
        # The card was charged: money the rules refuse is held for staff, never dropped.
        hold_refused=True,
    )
    paid = format_money(int(checkout["amount_total"]), str(checkout["currency"]).upper())
    if receipt.outcome == "held":
        return Handled("held", f"{paid} held for staff: {receipt.held.reason}", invoice.number)
    if receipt.outcome == "duplicate":
        return Handled("duplicate", f"payment {intent} is recorded already", invoice.number)
    return Handled("recorded", f"{paid} recorded from payment {intent}", invoice.number)


def _completed(session: Session, checkout: dict[str, Any], *dates: Any) -> Handled:
    status = checkout.get("payment_status")
    if status == "paid":
        return _receive(session, checkout, *dates)
    invoice = _invoice_of(session, checkout)
    number = invoice.number if invoice else None
    if status == "unpaid":
        return Handled("awaiting", "checkout completed; the payment is not confirmed yet", number)
    return Handled("ignored", f"checkout completed with payment status {status}", number)


def _async_failed(session: Session, checkout: dict[str, Any], *dates: Any) -> Handled:
    invoice = _invoice_of(session, checkout)
    if invoice is not None:
        mediator = invoice.certification.mediator
        queue_template_mail(
            session, "payment_failed.txt", to=[mediator.email], now=dates[-1], invoice=invoice
        )
    return Handled(
        "failed",
        f"the payment of Checkout Session {checkout.get('id')} failed; nothing was recorded",
        invoice.number if invoice else None,
    )


def _refunded(
    session: Session, charge: dict[str, Any], refunded_on: date, today: date, now: datetime
) -> Handled:
    intent = charge.get("payment_intent")
    payment = session.scalar(
        select(Payment).where(
            Payment.provider_reference == str(intent), Payment.source == PaymentSource.STRIPE
        )
    )
    if payment is None:
        held = session.scalar(
            select(HeldPayment).where(HeldPayment.provider_reference == str(intent))
        )
        if held is not None:
            return Handled(
                "refund_of_held",
                f"Stripe refunded the held payment {intent}; staff mark it returned",
                held.invoice.number,
            )
        # Stripe resends an event it got no 2xx for: by then the payment may have arrived.
        return Handled("deferred", f"refund of {intent}, a payment not recorded (yet)")
    return _count_refunds(session, payment, charge, refunded_on, today, now)


def _count_refunds(
    session: Session,
    payment: Payment,
    charge: dict[str, Any],
    refunded_on: date,
    today: date,
    now: datetime,
) -> Handled:
    """Bring the payment's confirmed refunds up to what the charge says was refunded.

    ``amount_refunded`` is cumulative, so an older event arriving late changes nothing. Refunds
    listed on the charge are matched by id to those staff asked for; the rest is a refund made
    in Stripe's dashboard.
    """
    target = int(charge.get("amount_refunded") or 0)
    listed = [
        r
        for r in ((charge.get("refunds") or {}).get("data") or [])
        if r.get("status") in ("succeeded", "pending")
    ]
    counted = []
    for item in sorted(listed, key=lambda r: r.get("created", 0)):
        left = target - payment.refunded_minor
        known = next((r for r in payment.refunds if r.stripe_refund_id == item.get("id")), None)
        if left <= 0 or (known is not None and known.status == RefundStatus.REFUNDED):
            continue
        amount = min(int(item["amount"]), left)
        confirm_refund(session, payment, amount_minor=amount, stripe_refund_id=item["id"],
                       refunded_on=refunded_on, today=today, now=now)  # fmt: skip
        counted.append(amount)
    for asked in [r for r in payment.refunds if r.status == RefundStatus.REQUESTED]:
        if asked.amount_minor <= target - payment.refunded_minor:
            confirm_refund(session, payment, amount_minor=asked.amount_minor,
                           stripe_refund_id=asked.stripe_refund_id, refunded_on=refunded_on,
                           today=today, now=now)  # fmt: skip
            counted.append(asked.amount_minor)
    rest = target - payment.refunded_minor
    if rest > 0:
        confirm_refund(session, payment, amount_minor=rest, stripe_refund_id=None,
                       refunded_on=refunded_on, today=today, now=now)  # fmt: skip
        counted.append(rest)
    number = payment.invoice.number
    if not counted:
        return Handled(
            "duplicate", f"refunds of {payment.provider_reference} counted already", number
        )
    total = format_money(sum(counted), payment.currency)
    return Handled("refunded", f"{total} refunded of payment {payment.provider_reference}", number)


def _refund_failed(session: Session, refund: dict[str, Any], *dates: Any) -> Handled:
    ours = session.scalar(select(Refund).where(Refund.stripe_refund_id == str(refund.get("id"))))
    if ours is None or ours.status != RefundStatus.REQUESTED:
        return Handled("ignored", f"refund {refund.get('id')} is not one awaiting confirmation")
    fail_refund(session, ours, now=dates[-1], detail=str(refund.get("failure_reason") or "failed"))
    return Handled(
        "refund_failed", f"refund {ours.stripe_refund_id} failed", ours.payment.invoice.number
    )


HANDLERS = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _receive,
    "checkout.session.async_payment_failed": _async_failed,
    "charge.refunded": _refunded,
    "refund.failed": _refund_failed,
}
