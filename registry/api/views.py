"""The public, read-only JSON API: find mediators, verify a mediator or a certificate number.

Every answer is cacheable for a minute and carries a strong ETag and a Last-Modified, so
clients revalidate with ``If-None-Match`` / ``If-Modified-Since`` and get 304. Any web page
may call the API (CORS for everyone, never with credentials). Each client address has one
budget of requests for the whole API (``API_RATE_LIMIT``).
"""

from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from registry.accounts.permissions import public
from registry.api.errors import API_PATH
from registry.api.openapi import openapi_document
from registry.clock import local_today, registry_zone
from registry.credentials.issuing import MEDIA_TYPE, NotIssuable, issue_credential
from registry.database import utcnow
from registry.events.models import Event
from registry.extensions import db, limiter
from registry.mediators.models import CertificationType
from registry.search.as_of import AsOfError, parse_as_of
from registry.search.models import Listing
from registry.search.queries import (
    API_PARAMETERS,
    ListingDetails,
    MediatorSearch,
    SearchError,
    listing_details,
    parse_search,
    search_listings,
    specialisation_names,
)
from registry.search.verification import Verification, verify_certificate, verify_mediator

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_AGE_SECONDS = 60
PREFLIGHT_MAX_AGE_SECONDS = 86400
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": (
        "ETag, Last-Modified, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, "
        "X-RateLimit-Reset"
    ),
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
}


def _api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# One budget per client for the whole API. Preflights are not counted: a browser reports a
# refused preflight as a CORS failure, which would hide the 429 from the page.
limiter.shared_limit(_api_rate_limit, scope="api", methods=["GET", "HEAD"])(bp)


@bp.before_request
def _answer_preflight() -> Response | None:
    if request.method != "OPTIONS":
        return None
    response = current_app.response_class(status=204, headers=PREFLIGHT_HEADERS)
    del response.headers["Content-Type"]
    return response


@bp.after_app_request
def _allow_cross_origin(response: Response) -> Response:
    """Let any web page read API answers, errors included (there are no credentials)."""
    if request.path.startswith(API_PATH):
        response.headers.update(CORS_HEADERS)
    return response


@bp.get("/mediators")
@public
def mediators() -> Response:
    """List the mediators listed today that match the query, one page at a time."""
    search = _parse_search()
    today = local_today()
    page = search_listings(db.session, search, today, current_app.config["SEARCH_COUNT_CAP"])
    details = listing_details(db.session, page.items, today)
    body = {
        "items": [_item(listing, details[listing.mediator_id]) for listing in page.items],
        "total": page.total,
        "total_is_lower_bound": page.total_is_lower_bound,
        "page": page.number,
        "per_page": page.size,
    }
    return _cacheable(body, _latest(_start_of(today)))


@bp.get("/mediators/<public_id>")
@public
def mediator(public_id: str) -> Response:
    """Say where the mediator with ``public_id`` stands today (or stood on ``as_of``)."""
    today = local_today()
    found = verify_mediator(db.session, public_id, _as_of(today))
    if found is None:
        abort(404, _("No mediator has this public id."))
    return _verification(found, today)


@bp.get("/verify/<path:number>")
@public
def verify(number: str) -> Response:
    """Say whether the certificate ``number`` is valid today (or was on ``as_of``)."""
    today = local_today()
    return _verification(_certificate(number, _as_of(today)), today)


@bp.get("/mediators/<public_id>/credential")
@public
def mediator_credential(public_id: str) -> Response:
    """Return the mediator's certification (``type=advocate``: the other) as a VC-JWT."""
    _only_parameters("type")
    found = verify_mediator(db.session, public_id, local_today())
    if found is None:
        abort(404, _("No mediator has this public id."))
    given = request.args.get("type", "").strip().lower()  # empty means not given
    if given and given not in {t.value for t in CertificationType}:
        abort(400, _("type must be mediator or advocate"))
    held = found.held(given or None)  # not given: the mediator one, else the one they hold
    if held is None:
        kind = given or CertificationType.MEDIATOR.value
        abort(
            404, _("%(name)s holds no %(kind)s certification.", name=found.mediator.name, kind=kind)
        )
    return _credential(held)


@bp.get("/verify/<path:number>/credential")
@public
def certificate_credential(number: str) -> Response:
    """Return the certificate ``number`` as a VC-JWT (only while it is certified)."""
    _only_parameters()
    return _credential(_certificate(number, local_today()))


def _certificate(number: str, day: date) -> Verification:
    found = verify_certificate(db.session, number, day)
    if found is None:
        abort(
            404,
            _("No certificate had this number then.")
            if "as_of" in request.args
            else _("No certificate has this number."),
        )
    return found


def _as_of(today: date) -> date:
    """Read ``as_of``: the day asked about (today when not given); 400 when unanswerable."""
    _only_parameters("as_of")
    try:
        return parse_as_of(request.args.get("as_of"), db.session, today)
    except AsOfError as error:
        abort(400, str(error))


def _only_parameters(*allowed: str) -> None:
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        abort(400, _("unknown parameter: %(name)s", name=unknown[0]))


def _credential(found: Verification) -> Response:
    """Answer with the signed credential, or 404 saying why there is none."""
    try:
        token = issue_credential(db.session, found, utcnow())
    except NotIssuable:
        abort(
            404,
            _(
                "Certificate %(number)s is not currently certified (%(status)s):"
                " there is no credential to issue.",
                number=found.certification.certificate_number,
                status=found.status.value,
            ),
        )
    db.session.commit()  # a certification made before the status lists gets its index
    response = current_app.response_class(token, mimetype=MEDIA_TYPE)
    response.cache_control.no_store = True
    return response


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    """Describe the API as an OpenAPI 3.1 document."""
    config = current_app.config
    specialisations = list(specialisation_names(db.session))
    return _cacheable(
        openapi_document(
            config["PUBLIC_URL"],
            config["API_RATE_LIMIT"],
            specialisations,
            count_cap=config["SEARCH_COUNT_CAP"],
        )
    )


def _parse_search() -> MediatorSearch:
    repeated = [name for name, values in request.args.lists() if len(values) > 1]
    if repeated:
        abort(400, _("%(name)s is given more than once", name=sorted(repeated)[0]))
    try:
        return parse_search(
            request.args,
            frozenset(specialisation_names(db.session)),
            allowed=API_PARAMETERS,
            reachable=current_app.config["SEARCH_COUNT_CAP"],
        )
    except SearchError as error:
        abort(400, str(error))


def _item(listing: Listing, details: ListingDetails) -> dict[str, Any]:
    return {
        "public_id": listing.public_id,
        "name": listing.name,
        "country": listing.country,
        "languages": details.languages,
        "specialisations": [granted.code for granted in details.specialisations],
        "certificate_number": listing.certificate_number,
        "certifications": listing.certifications,
        "status": "certified",  # only certified mediators are listed
        "profile_url": current_app.config["PUBLIC_URL"]
        + url_for("search.profile", public_id=listing.public_id),
    }


def _verification(found: Verification, today: date) -> Response:
    modified = _latest(_start_of(today), found.mediator.updated_at)
    return _cacheable(found.as_json(), modified)


def _start_of(today: date) -> datetime:
    """Statuses are as of today, so every answer may change at local midnight."""
    return datetime.combine(today, time(), registry_zone()).astimezone(UTC)


def _latest(*instants: datetime | None) -> datetime:
    """Return the latest of ``instants`` and of the last change logged to the event log.

    Every change to what the API says (a grant, payment, waiver, suspension, profile edit)
    writes an event in the same transaction, so the newest event (found through the primary
    key, not by scanning the log) dates the newest change; the passing of a day is covered
    by the start of today. Without it, ``If-Modified-Since`` would get a stale 304.
    """
    logged = db.session.scalar(select(Event.occurred_at).order_by(Event.id.desc()).limit(1))
    return max(instant for instant in (*instants, logged) if instant is not None)


def _cacheable(body: dict[str, Any], last_modified: datetime | None = None) -> Response:
    """Return ``body`` as JSON with validators, or 304 if the client's copy is current."""
    response = jsonify(body)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    if last_modified is not None:
        response.last_modified = last_modified
    response.add_etag()
    return response.make_conditional(request)
