"""The public pages: Find a Mediator, profiles, Verify a certificate, Verify Training.

Everything here is public and shows only what a mediator published. A profile or certificate
that is not certified today says so plainly ("Not currently certified"), with since when and
why for struck, suspended and revoked; such pages also ask search engines not to index them.
"""

from collections.abc import Callable

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from registry.accounts.permissions import public
from registry.clock import local_today
from registry.digests.queries import current_digest
from registry.extensions import db
from registry.formatting import format_day
from registry.mediators.models import CertificationType, Mediator
from registry.reference import COUNTRIES, LANGUAGES, by_name, country_name, language_name
from registry.search import queries
from registry.search.as_of import AsOfError, parse_as_of
from registry.search.queries import SORTS, SearchError
from registry.search.verification import normal_number, verify_certificate, verify_mediator

bp = Blueprint("search", __name__)

MAX_NUMBER_LENGTH = 32


@bp.route("/mediators")
@public
def find() -> ResponseReturnValue:
    """Find a Mediator: certified mediators only, by name and filters."""
    session = db.session
    today = local_today()
    specialisations = queries.specialisation_names(session)
    counts = queries.filter_counts(
        session, today, current_app.config["FILTER_COUNTS_CACHE_SECONDS"]
    )
    context = {
        # Only the values that find someone today (and the one asked for, to keep it shown).
        "countries": _offered(
            COUNTRIES, country_name, counts.countries, request.args.get("country", "").upper()
        ),
        "languages": _offered(
            LANGUAGES, language_name, counts.languages, request.args.get("language", "").lower()
        ),
        "specialisations": specialisations,
        "types": list(CertificationType),
        "sorts": SORTS,
        "args": request.args,
    }
    cap = current_app.config["SEARCH_COUNT_CAP"]
    try:
        search = queries.parse_search(request.args, frozenset(specialisations), reachable=cap)
    except SearchError as error:
        return render_template("search/find.html", error=str(error), result=None, **context), 400
    result = queries.search_listings(session, search, today, cap)
    details = queries.listing_details(session, result.items, today)
    return render_template(
        "search/find.html",
        search=search,
        result=result,
        details=details,
        namesakes=queries.shared_names(result.items),
        today=today,
        error=None,
        **context,
    )


def _offered(
    known: dict[str, str], name: Callable[[str], str], counts: dict[str, int], chosen: str
) -> list[tuple[str, str, int]]:
    """Return (code, name, count) of the values with listed mediators, by name in the reader's
    language and collation order."""
    codes = {code for code, count in counts.items() if count} | ({chosen} & set(known))
    named = by_name((code, name(code)) for code in codes if code in known)
    return [(code, label, counts.get(code, 0)) for code, label in named]


@bp.route("/mediators/<public_id>")
@public
def profile(public_id: str) -> ResponseReturnValue:
    """A mediator's public profile at a stable address, with their status today."""
    today = local_today()
    verification = verify_mediator(db.session, public_id, today)
    if verification is None:
        abort(404)
    mediator: Mediator = verification.mediator
    return render_template(
        "search/profile.html",
        verification=verification,
        mediator=mediator,
        digest=current_digest(db.session, mediator.id, today),
        has_namesake=queries.has_listed_namesake(db.session, mediator, today),
        today=today,
    )


@bp.route("/verify")
@public
def verify() -> ResponseReturnValue:
    """Verify a certificate number: valid today (or on a past day), or plainly not, and why."""
    raw = request.args.get("number", "")
    today = local_today()
    raw_day = request.args.get("as_of", "").strip()[:20]
    context = {"number": raw.strip()[:MAX_NUMBER_LENGTH], "today": today, "as_of": raw_day}
    if not raw.strip():
        return render_template("search/verify.html", verification=None, error=None, **context)
    number = normal_number(raw)
    if len(number) > MAX_NUMBER_LENGTH or not number.replace("-", "").isalnum():
        error = _("A certificate number has letters, digits and dashes only, like MR-2024-000012.")
        return render_template("search/verify.html", verification=None, error=error, **context), 400
    try:
        day = parse_as_of(raw_day, db.session, today)
    except AsOfError as error:
        message = _("The day cannot be answered: %(error)s.", error=error)
        return render_template(
            "search/verify.html", verification=None, error=None, day_error=message, **context
        ), 400
    verification = verify_certificate(db.session, raw, day)
    if verification is None:
        if day == today:
            error = _("There is no certificate with the number %(number)s.", number=number)
        else:
            error = _(
                "There is no certificate with the number %(number)s granted by %(day)s.",
                number=number,
                day=format_day(day),
            )
        return render_template("search/verify.html", verification=None, error=error, **context), 404
    return render_template(
        "search/verify.html",
        verification=verification,
        has_namesake=queries.has_listed_namesake(db.session, verification.mediator, today),
        error=None,
        **context,
    )


@bp.route("/verify-training")
@public
def training() -> ResponseReturnValue:
    """Verify Training: who completed a recognised training program ("Qualified")."""
    q = " ".join(request.args.get("q", "").split())
    try:
        page = queries.parse_page(request.args)
        if len(q) > queries.MAX_QUERY_LENGTH:
            raise SearchError(
                _("The name is longer than %(num)s characters.", num=queries.MAX_QUERY_LENGTH)
            )
    except SearchError as error:
        return render_template("search/training.html", q=q, result=None, error=str(error)), 400
    result = queries.qualified_mediators(db.session, q, page)
    return render_template("search/training.html", q=q, result=result, error=None)
