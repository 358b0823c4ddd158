"""The probes a load balancer or orchestrator asks, and the metrics Prometheus scrapes.

None of them needs signing in, none is rate-limited, and none opens a session: a probe every
few seconds must never be refused or leave traces.
"""

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST

from registry.accounts.permissions import public
from registry.database import utcnow
from registry.extensions import db, limiter
from registry.monitoring.metrics import render_metrics
from registry.monitoring.readiness import check_readiness

bp = Blueprint("monitoring", __name__)
limiter.exempt(bp)


@bp.after_request
def _never_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """Answer 200 while the process serves requests (liveness; the database is not asked)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz() -> ResponseReturnValue:
    """Answer 200 when this process can do its work, else 503, with each check's outcome."""
    readiness = check_readiness(db.session, utcnow())
    body = {"status": "ready" if readiness.ready else "unready", "checks": readiness.checks}
    return jsonify(body), 200 if readiness.ready else 503


@bp.get("/metrics")
@public  # open to no person: _may_scrape lets in the configured addresses or token only
def metrics() -> ResponseReturnValue:
    """Prometheus metrics, for the addresses in METRICS_ALLOWED_IPS or the METRICS_TOKEN."""
    if not _may_scrape():
        abort(403)
    body = render_metrics(db.session, utcnow())
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _may_scrape() -> bool:
    config = current_app.config
    token = config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    # A request relayed by a proxy the site was not told to trust (TRUSTED_PROXIES=0) shows
    # the proxy's address, often 127.0.0.1: an address rule would let the whole world in.
    if not config["TRUSTED_PROXIES"] and "X-Forwarded-For" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in config["METRICS_ALLOWED_IPS"])
