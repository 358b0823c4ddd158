"""A small local fake of the few Stripe API endpoints the registry calls, and signed events.

Stripe's servers are not reachable from the test machines. ``FakeStripe`` serves, on
127.0.0.1, what the official SDK asks for: ``POST /v1/checkout/sessions`` and
``POST /v1/refunds`` (form-encoded, as the SDK sends them), honouring ``Idempotency-Key`` as
Stripe does (the same key returns the first answer), plus a stand-in Checkout page at
``/pay/<session id>`` for the browser test. ``event`` and ``sign`` build webhook deliveries
shaped as in Stripe's API reference and signed as Stripe signs them (``t=<unix>,v1=<hex
HMAC-SHA256 of "<t>.<payload>">``), so the app's ``construct_event`` verifies them for real.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "sk_test_registry_fake"
WEBHOOK_SECRET = "whsec_registry_fake"


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Read Stripe's form encoding (``line_items[0][price_data][currency]=eur``) into a tree."""
    tree: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


class FakeStripe:
    """The fake API server, run in a thread; it remembers every request it answered."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any], str | None]] = []
        self._answers: dict[str, tuple[int, str]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_next: str | None = None
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeStripe":
        self._thread.start()
        return self

    def reset(self) -> None:
        """Forget everything (each test starts with a Stripe account of its own)."""
        with self._lock:
            self.sessions.clear()
            self.refunds.clear()
            self.requests.clear()
            self._answers.clear()
            self.fail_next = None

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(5)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    @Request.application
    def _app(self, request: Request) -> Response:
        if request.method == "GET" and request.path.startswith("/pay/"):
            return self._checkout_page(request.path.removeprefix("/pay/"))
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Invalid API Key provided.", "invalid_request_error")
        params = unflatten(parse_qsl(request.get_data(as_text=True)))
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append((request.method, request.path, params, key))
            if key and key in self._answers:
                status, body = self._answers[key]
                return Response(body, status, content_type="application/json")
            answer = self._answer(request.method, request.path, params)
            if key:
                self._answers[key] = (answer.status_code, answer.get_data(as_text=True))
            return answer

    def _answer(self, method: str, path: str, params: dict[str, Any]) -> Response:
        if self.fail_next:
            message, self.fail_next = self.fail_next, None
            return _error(400, message, "invalid_request_error")
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            return _json(self._create_session(params))
        if (method, path) == ("POST", "/v1/refunds"):
            return _json(self._create_refund(params))
        return _error(404, f"Unrecognized request URL ({method}: {path}).", "invalid_request_error")

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        item = params["line_items"]["0"]
        price = item["price_data"]
        session_id = self._new_id("cs")
        checkout = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(price["unit_amount"]) * int(item.get("quantity", 1)),
            "currency": price["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "url": f"{self.base}/pay/{session_id}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.sessions[session_id] = checkout
        return checkout

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        refund = {
            "id": self._new_id("re"),
            "object": "refund",
            "amount": int(params["amount"]),
            "currency": "eur",
            "payment_intent": params["payment_intent"],
            "charge": f"ch_for_{params['payment_intent']}",
            "metadata": params.get("metadata", {}),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return refund

    def _checkout_page(self, session_id: str) -> Response:
        checkout = self.sessions.get(session_id)
        if checkout is None:
            return Response("No such session", 404)
        amount = f"{checkout['amount_total'] / 100:.2f} {checkout['currency'].upper()}"
        html = (
            f"<!doctype html><title>Fake Stripe Checkout</title><h1>Fake Stripe Checkout</h1>"
            f"<p id='amount'>{amount}</p><p id='reference'>{checkout['client_reference_id']}</p>"
        )
        return Response(html, content_type="text/html")

    def paid(self, session_id: str, intent: str | None = None, **changes: Any) -> dict[str, Any]:
        """Return the session as Stripe shows it once paid (for a webhook event)."""
        return {
            **self.sessions[session_id],
            "status": "complete",
            "payment_status": "paid",
            "payment_intent": intent or f"pi_for_{session_id}",
            **changes,
        }


def _json(data: dict[str, Any]) -> Response:
    return Response(json.dumps(data), 200, content_type="application/json")


def _error(status: int, message: str, kind: str) -> Response:
    body = {"error": {"message": message, "type": kind}}
    return Response(json.dumps(body), status, content_type="application/json")


_event_ids = itertools.count(1)


def event(
    kind: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None
) -> dict[str, Any]:
    """Return a webhook event shaped as Stripe's (API reference, "The Event object")."""
    return {
        "id": event_id or f"evt_test_{next(_event_ids):08d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def charge_refunded(
    intent: str, *, amount: int, refunded: int, refunds: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A Charge as ``charge.refunded`` carries it: ``amount_refunded`` is the running total."""
    charge: dict[str, Any] = {
        "id": f"ch_for_{intent}",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "currency": "eur",
        "payment_intent": intent,
        "paid": True,
        "refunded": refunded == amount,
        "status": "succeeded",
    }
    if refunds is not None:
        charge["refunds"] = {"object": "list", "data": refunds, "has_more": False}
    return charge


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Return the ``Stripe-Signature`` header Stripe would send with ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
