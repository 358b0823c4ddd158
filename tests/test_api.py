"""The public JSON API: the contract's exact shapes, bad input, errors, CORS, caching, limits."""

from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from registry.clock import add_years, local_today, registry_zone
from registry.contributions.models import Invoice
from registry.database import db, utcnow
from registry.mediators.models import Mediator
from registry.mediators.services import (
    revoke_certification,
    suspend_certification,
    update_profile,
)
from registry.search.verification import STRUCK_REASON
from tests.conftest import make_test_app
from tests.factories import grant, make_mediator, set_fees, specialise, staff_user

ITEM_KEYS = {
    "public_id",
    "name",
    "country",
    "languages",
    "specialisations",
    "certificate_number",
    "certifications",
    "status",
    "profile_url",
}
DETAIL_KEYS = {
    "public_id",
    "name",
    "certificate_number",
    "status",
    "listed",
    "status_since",
    "reason",
    # Issue 15: the type, what the status means, the granted specialisations, each certificate;
    # issue 17: the day the answer is for.
    "as_of",
    "certification_type",
    "valid_until",
    "next_change",
    "explanation",
    "specialisations",
    "certifications",
}
CONDUCT_REASON = "Outcome of the Professional Conduct Assessment Process."
LISTED = ["Anna Müller", "Eva Mueller", "Łukasz Nowak"]  # in name order


def _profile(session, name, country, languages):
    mediator = make_mediator(session, name=name, country=country)
    update_profile(session, mediator, now=utcnow(), actor=staff_user(session), languages=languages)
    return mediator


GRANTED = {
    "Anna Müller": ["investor_state"],
    "Eva Mueller": ["online_dispute_resolution"],
    "Łukasz Nowak": ["intercultural", "investor_state"],
}


@pytest.fixture
def register(app, session):
    """Three listed mediators, and one mediator in every status that is never listed."""
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 4, today.year + 2))
        people = {
            "Anna Müller": _profile(session, "Anna Müller", "DE", ["de", "en"]),
            "Eva Mueller": _profile(session, "Eva Mueller", "AT", ["de"]),
            "Łukasz Nowak": _profile(session, "Łukasz Nowak", "PL", ["pl", "en"]),
        }
        for name in LISTED:
            grant(session, people[name], on=today - timedelta(days=100))
            for code in GRANTED[name]:
                specialise(session, people[name], code, on=today - timedelta(days=90), today=today)
        for name, granted_days_ago, paid in [
            ("Greta Lapsed", 395, True),  # the first year ended 30 days ago, unpaid
            ("Karl Struck", 790, True),  # ...and the year of grace too
            ("Paul Applicant", 10, False),  # granted, first contribution not paid yet
        ]:
            people[name] = make_mediator(session, name=name)
            grant(session, people[name], on=today - timedelta(days=granted_days_ago), paid=paid)
        people["Rosa Applicant"] = make_mediator(session, name="Rosa Applicant")
        for name, action in [
            ("Lena Suspended", suspend_certification),
            ("Otto Revoked", revoke_certification),
        ]:
            people[name] = make_mediator(session, name=name)
            grant(session, people[name], on=today - timedelta(days=200))
            action(
                session,
                people[name].current_certification,
                on=today - timedelta(days=5),
                reason=CONDUCT_REASON,
                today=today,
                now=utcnow(),
                actor=staff_user(session),
            )
        session.commit()  # the search index is refreshed as the transaction commits
    return people


def number(mediator: Mediator) -> str:
    return mediator.current_certification.certificate_number


def today_in(app):
    with app.app_context():
        return local_today()


def start_of_today(app) -> datetime:
    with app.app_context():
        return datetime.combine(local_today(), time(), registry_zone()).astimezone(UTC)


# --- GET /api/v1/mediators ---------------------------------------------------------------


def test_list_has_exactly_the_contract_keys_and_only_listed_mediators(client, register):
    response = client.get("/api/v1/mediators")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"items", "total", "total_is_lower_bound", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 20)
    assert body["total_is_lower_bound"] is False
    assert [item["name"] for item in body["items"]] == LISTED
    for item in body["items"]:
        assert set(item) == ITEM_KEYS
        assert item["status"] == "certified"


def test_list_item_in_full(client, register):
    lukasz = register["Łukasz Nowak"]
    items = client.get("/api/v1/mediators?q=lukasz").get_json()["items"]
    assert items == [
        {
            "public_id": lukasz.public_id,
            "name": "Łukasz Nowak",
            "country": "PL",
            "languages": ["en", "pl"],
            "specialisations": ["intercultural", "investor_state"],  # in the order of their names
            "certificate_number": number(lukasz),
            "certifications": [{"type": "mediator", "certificate_number": number(lukasz)}],
            "status": "certified",
            "profile_url": f"http://registry.test/mediators/{lukasz.public_id}",
        }
    ]


FILTERS = [
    ("q=muller", ["Anna Müller", "Eva Mueller"]),
    ("q=MÜLLER+anna", ["Anna Müller"]),
    ("q=nowak+lukasz", ["Łukasz Nowak"]),
    ("q=&country=&language=&specialisation=&page=&per_page=", LISTED),
    ("country=pl", ["Łukasz Nowak"]),
    ("country=DE", ["Anna Müller"]),
    ("language=de", ["Anna Müller", "Eva Mueller"]),
    ("specialisation=investor_state", ["Anna Müller", "Łukasz Nowak"]),
    ("specialisation=online_dispute_resolution&language=de", ["Eva Mueller"]),
    ("q=muller&country=PL", []),
    ("q=lena", []),  # suspended: never listed
    ("q=greta", []),  # lapsed
]


def test_list_filters(client, register):
    for query, names in FILTERS:
        body = client.get(f"/api/v1/mediators?{query}").get_json()
        assert [item["name"] for item in body["items"]] == names, query
        assert body["total"] == len(names), query


def test_list_pages(client, register):
    first = client.get("/api/v1/mediators?per_page=2").get_json()
    assert [item["name"] for item in first["items"]] == LISTED[:2]
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    second = client.get("/api/v1/mediators?per_page=2&page=2").get_json()
    assert [item["name"] for item in second["items"]] == LISTED[2:]
    assert (second["total"], second["page"]) == (3, 2)
    beyond = client.get("/api/v1/mediators?per_page=2&page=3").get_json()
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 3, 3)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page must be 1 or more"),
        ("page=-1", "page must be a whole number"),
        ("page=abc", "page must be a whole number"),
        ("page=1.5", "page must be a whole number"),
        ("page=99999999999999999999", "page is past the first 10,000 results; narrow the search"),
        ("page=101&per_page=100", "page is past the first 10,000 results; narrow the search"),
        ("per_page=0", "per_page must be 1 or more"),
        ("per_page=101", "per_page must be at most 100"),
        ("q=" + "a" * 101, "q is longer than 100 characters"),
        ("q=a+b+c+d+e+f+g+h+i", "q has more than 8 words"),
        ("sort=name", "unknown parameter: sort"),
        ("email=x", "unknown parameter: email"),
        ("%ff%fe=1", "unknown parameter: %FF%FE"),  # not UTF-8
        ("country=XX", "unknown country: XX"),
        ("country=%ff", "unknown country: %FF"),
        ("language=xx", "unknown language: xx"),
        ("specialisation=astrology", "unknown specialisation: astrology"),
        ("page=1&page=2", "page is given more than once"),
    ],
)
def test_list_refuses_bad_parameters_with_the_reason(client, session, query, message):
    response = client.get(f"/api/v1/mediators?{query}")
    assert response.status_code == 400
    assert response.content_type == "application/json"
    assert response.get_json() == {"error": {"status": 400, "message": message}}


# Full-text search syntax of FTS5 and tsquery, and bytes that are not text.
SEARCH_SYNTAX = [
    "%22",  # "
    "%22muller",
    "muller*",
    "*",
    "NEAR",
    "muller+NEAR+anna",
    "NEAR(muller+anna)",
    "-muller",
    "name:muller",
    "search_name%3Amuller",
    "(muller",
    "muller)",
    "muller+OR+nowak",
    "NOT+muller",
    "AND",
    "%27",  # '
    "^muller",
    "%ff%fe",  # not UTF-8
    "%00",
    "muller%00",
    "%E2%80%AE",  # right-to-left override
    "+++",
]


def test_list_search_syntax_is_never_an_error(client, register):
    for q in SEARCH_SYNTAX:
        response = client.get(f"/api/v1/mediators?q={q}")
        assert response.status_code == 200, q
        names = [item["name"] for item in response.get_json()["items"]]
        assert set(names) <= set(LISTED), q


def test_search_operators_are_plain_words(client, register):
    assert [i["name"] for i in client.get("/api/v1/mediators?q=muller*").get_json()["items"]] == [
        "Anna Müller",
        "Eva Mueller",
    ]
    assert client.get("/api/v1/mediators?q=muller+OR+nowak").get_json()["total"] == 0
    assert client.get("/api/v1/mediators?q=%ff%fe").get_json()["total"] == 0


# --- GET /api/v1/mediators/<public_id> and /api/v1/verify/<number> ------------------------


def expected_standing(app, register):
    today = today_in(app)
    first_lapsed_day = add_years(today - timedelta(days=395), 1)
    struck_on = add_years(today - timedelta(days=790), 1) + timedelta(days=365)
    return {
        "Anna Müller": ("certified", True, today - timedelta(days=100), None),
        "Greta Lapsed": ("lapsed", False, first_lapsed_day, None),
        "Karl Struck": ("struck", False, struck_on, STRUCK_REASON),
        "Paul Applicant": ("applicant", False, today - timedelta(days=10), None),
        "Lena Suspended": ("suspended", False, today - timedelta(days=5), CONDUCT_REASON),
        "Otto Revoked": ("revoked", False, today - timedelta(days=5), CONDUCT_REASON),
    }


@pytest.mark.parametrize(
    "name",
    [
        "Anna Müller",
        "Greta Lapsed",
        "Karl Struck",
        "Paul Applicant",
        "Lena Suspended",
        "Otto Revoked",
    ],
)
def test_mediator_and_certificate_say_where_they_stand_today(app, client, register, name):
    status, listed, since, reason = expected_standing(app, register)[name]
    mediator = register[name]
    expected = {
        "public_id": mediator.public_id,
        "name": name,
        "certificate_number": number(mediator),
        "status": status,
        "listed": listed,
        "status_since": since.isoformat(),
        "reason": reason,
    }
    by_id = client.get(f"/api/v1/mediators/{mediator.public_id}")
    by_number = client.get(f"/api/v1/verify/{number(mediator)}")
    assert by_id.status_code == by_number.status_code == 200
    body = by_id.get_json()
    # One certification: the person's answer and the certificate's are the same.
    assert body == by_number.get_json()
    assert {key: body[key] for key in expected} == expected
    assert set(body) == DETAIL_KEYS
    assert body["certifications"] == [
        {key: value for key, value in body.items() if key in CERTIFICATE_KEYS}
    ]
    assert body["certification_type"] == "mediator"
    assert bool(body["specialisations"]) is (name == "Anna Müller")
    assert (body["valid_until"] is not None) is listed
    assert body["next_change"] == NEXT_CHANGE[status](mediator, app)
    assert body["explanation"].startswith("Certified:" if listed else "Not ")


def _after_cover(days: int, status: str):  # type: ignore[no-untyped-def]
    """The next change ``days`` after the last covered day, to ``status``."""

    def expected(mediator: Mediator, app) -> dict[str, str]:  # type: ignore[no-untyped-def]
        with app.app_context():
            covered = max(i.period_end for i in mediator_invoices(mediator) if i.settled_on)
        return {"on": (covered + timedelta(days=days)).isoformat(), "to": status}

    return expected


def _none(_mediator: Mediator, _app) -> None:  # type: ignore[no-untyped-def]
    return None


# Only lapsing and striking are dated in advance (the default grace is 365 days).
NEXT_CHANGE = {
    "certified": _after_cover(1, "lapsed"),
    "lapsed": _after_cover(1 + 365, "struck"),
    "struck": _none,
    "applicant": _none,
    "suspended": _none,
    "revoked": _none,
}
CERTIFICATE_KEYS = DETAIL_KEYS - {
    "public_id",
    "name",
    "as_of",
    "specialisations",
    "certifications",
}


def mediator_invoices(mediator: Mediator) -> list[Invoice]:
    ids = [c.id for c in mediator.certifications]
    return list(db.session.scalars(select(Invoice).where(Invoice.certification_id.in_(ids))))


def test_an_applicant_without_a_grant_has_no_certificate(app, client, register):
    rosa = register["Rosa Applicant"]
    body = client.get(f"/api/v1/mediators/{rosa.public_id}").get_json()
    assert body == {
        "public_id": rosa.public_id,
        "name": "Rosa Applicant",
        "as_of": today_in(app).isoformat(),
        "certificate_number": None,
        "certification_type": None,
        "status": "applicant",
        "listed": False,
        "status_since": today_in(app).isoformat(),  # created today
        "reason": None,
        "valid_until": None,
        "next_change": None,
        "explanation": "Not certified: certification has not been granted.",
        "specialisations": [],
        "certifications": [],
    }


def test_ids_and_numbers_are_read_like_people_type_them(client, register):
    anna = register["Anna Müller"]
    assert client.get(f"/api/v1/mediators/{anna.public_id.lower()}").status_code == 200
    spaced = number(anna).lower().replace("-", "- ")  # "mr- 2026- 000001"
    response = client.get(f"/api/v1/verify/%20{spaced}%20")
    assert response.status_code == 200
    assert response.get_json()["certificate_number"] == number(anna)


@pytest.mark.parametrize("typed", ["mr 2024 12", "MR-2024-0012", "MR2024000012", "Mr-2024-12"])
def test_numbers_are_found_without_leading_zeros_or_dashes(client, session, ctx, typed):
    set_fees(session)
    mediator = make_mediator(session, name="Nora Number")
    grant(session, mediator, on=local_today() - timedelta(days=30), number="MR-2024-000012")
    session.commit()
    response = client.get(f"/api/v1/verify/{typed}")
    assert response.status_code == 200, typed
    assert response.get_json()["certificate_number"] == "MR-2024-000012"
    credential = client.get(f"/api/v1/verify/{typed}/credential")
    assert credential.status_code == 200, typed


def test_an_imported_number_is_found_as_written(client, session, ctx):
    set_fees(session)
    mediator = make_mediator(session, name="Ida Imported")
    grant(session, mediator, on=local_today() - timedelta(days=30), number="MR-2024-12")
    session.commit()
    response = client.get("/api/v1/verify/mr-2024-12")
    assert response.get_json()["certificate_number"] == "MR-2024-12"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/v1/mediators/MNOSUCHID23", "No mediator has this public id."),
        ("/api/v1/mediators/%00", "No mediator has this public id."),
        ("/api/v1/mediators/M%00X", "No mediator has this public id."),
        ("/api/v1/mediators/" + "M" * 17, "No mediator has this public id."),
        ("/api/v1/mediators/%ff", "No mediator has this public id."),
        ("/api/v1/verify/MR-1999-000001", "No certificate has this number."),
        ("/api/v1/verify/MR%00", "No certificate has this number."),
        ("/api/v1/verify/a/b", "No certificate has this number."),
        ("/api/v1/verify/" + "9" * 33, "No certificate has this number."),
        ("/api/v1/verify/%20", "No certificate has this number."),
    ],
)
def test_unknown_ids_and_numbers_are_json_404s(client, session, url, message):
    response = client.get(url)
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.get_json() == {"error": {"status": 404, "message": message}}


# --- errors, HEAD, CORS ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/api/v1/nothing-here", 404),
        ("GET", "/api/v1/mediators/", 404),
        ("GET", "/api/v2/mediators", 404),
        ("POST", "/api/v1/mediators", 405),
        ("DELETE", "/api/v1/mediators/M2345678923", 405),
        ("PUT", "/api/v1/openapi.json", 405),
        ("PATCH", "/api/v1/verify/MR-2026-000001", 405),
    ],
)
def test_every_error_under_the_api_is_json(client, session, method, url, status):
    response = client.open(url, method=method)
    assert response.status_code == status
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}
    assert body["error"]["status"] == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    if status == 405:
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


@pytest.fixture
def failing_app(app):
    broken = make_test_app(app.config["DATABASE_URL"], PROPAGATE_EXCEPTIONS=False)

    @broken.route("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internals")

    explode.access = "public"
    yield broken
    broken.extensions["db"].engine.dispose()


def test_a_server_error_in_the_api_is_json_without_internals(failing_app, caplog):
    response = failing_app.test_client().get("/api/v1/explode")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"status": 500, "message": "Something went wrong; the error is logged."}
    }
    assert "secret internals" in caplog.text  # ...but the log has it


def test_pages_outside_the_api_keep_their_html_errors(client, session):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_head_answers_like_get_without_a_body(client, register):
    for url in [
        "/api/v1/mediators",
        f"/api/v1/mediators/{register['Anna Müller'].public_id}",
        f"/api/v1/verify/{number(register['Anna Müller'])}",
        "/api/v1/openapi.json",
    ]:
        got, head = client.get(url), client.head(url)
        assert head.status_code == 200 and head.data == b""
        assert head.headers["ETag"] == got.headers["ETag"]
        assert head.headers["Content-Type"] == "application/json"


def test_answers_may_be_read_by_any_web_page(client, register):
    response = client.get("/api/v1/mediators", headers={"Origin": "https://example.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {
        name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert exposed >= {
        "ETag",
        "Last-Modified",
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "url", ["/api/v1/mediators", "/api/v1/mediators/M2345678923", "/api/v1/verify/X-1"]
)
def test_preflight_is_answered_with_204(client, session, url):
    response = client.options(
        url,
        headers={
            "Origin": "https://example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 204
    assert response.data == b""
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == "If-None-Match, If-Modified-Since"
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in headers


# --- caching ----------------------------------------------------------------------------------


def detail_urls(register):
    anna = register["Anna Müller"]
    return [f"/api/v1/mediators/{anna.public_id}", f"/api/v1/verify/{number(anna)}"]


def test_answers_carry_validators_and_a_short_public_lifetime(client, register):
    for url in ["/api/v1/mediators", *detail_urls(register)]:
        response = client.get(url)
        assert response.headers["Cache-Control"] == "public, max-age=60"
        etag = response.headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"')  # strong, not W/"..."
        assert response.last_modified is not None


def test_if_none_match_gives_304(client, register):
    for url in ["/api/v1/mediators?q=muller", *detail_urls(register), "/api/v1/openapi.json"]:
        first = client.get(url)
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        assert again.data == b""
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Access-Control-Allow-Origin"] == "*"
        other = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200


def test_the_etag_follows_the_body(client, register):
    assert (
        client.get("/api/v1/mediators?q=muller").headers["ETag"]
        != client.get("/api/v1/mediators?q=nowak").headers["ETag"]
    )


def test_if_modified_since_gives_304_until_something_changes(client, register):
    for url in ["/api/v1/mediators", *detail_urls(register)]:
        first = client.get(url)
        since = first.headers["Last-Modified"]
        assert client.get(url, headers={"If-Modified-Since": since}).status_code == 304
        earlier = format_datetime(first.last_modified - timedelta(seconds=1), usegmt=True)
        assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200


def test_last_modified_is_never_before_the_start_of_today(app, client, session):
    """Statuses are as of today: yesterday's copy is stale at midnight even if nothing changed."""
    assert client.get("/api/v1/mediators").last_modified == start_of_today(app)


def test_a_suspension_makes_earlier_copies_stale(app, client, session, register):
    """Suspending deletes the listing and leaves the profile as it was; copies must not stay."""
    anna = register["Anna Müller"]
    urls = ["/api/v1/mediators", *detail_urls(register)]
    stamps = {url: client.get(url).headers["Last-Modified"] for url in urls}
    with app.app_context():
        suspend_certification(
            session,
            anna.current_certification,
            on=local_today(),
            reason=CONDUCT_REASON,
            today=local_today(),
            now=utcnow() + timedelta(minutes=1),  # a minute after the copies were made
            actor=staff_user(session),
        )
        session.commit()
    for url in urls:
        response = client.get(url, headers={"If-Modified-Since": stamps[url]})
        assert response.status_code == 200, url
    assert client.get(urls[0]).get_json()["total"] == 2
    assert client.get(urls[1]).get_json()["status"] == "suspended"


# --- rate limit -------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app):
    limited = make_test_app(app.config["DATABASE_URL"], API_RATE_LIMIT="2 per minute")
    yield limited
    limited.extensions["db"].engine.dispose()


def test_the_rate_limit_answers_429_in_json(limited_app):
    client = limited_app.test_client()
    for _ in range(2):
        response = client.get("/api/v1/openapi.json")
        assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "0"
    refused = client.get("/api/v1/mediators")  # one budget for the whole API
    assert refused.status_code == 429
    assert refused.content_type == "application/json"
    error = refused.get_json()["error"]
    assert error["status"] == 429
    assert "2 per 1 minute" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    # A preflight is never refused: the browser would report it as a CORS failure.
    assert client.options("/api/v1/mediators").status_code == 204
    # Other clients have budgets of their own.
    other = client.get("/api/v1/mediators", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


# --- nothing unpublished ------------------------------------------------------------------------


def test_no_answer_shows_an_email_address(client, register, session):
    urls = ["/api/v1/mediators?per_page=100", "/api/v1/openapi.json"]
    for mediator in register.values():
        urls.append(f"/api/v1/mediators/{mediator.public_id}")
        if mediator.current_certification:
            urls.append(f"/api/v1/verify/{number(mediator)}")
    emails = list(session.scalars(select(Mediator.email)))
    assert emails
    for url in urls:
        text = client.get(url).get_data(as_text=True)
        assert "@" not in text, url
        assert not any(email in text for email in emails)


# --- the OpenAPI document --------------------------------------------------------------------


def test_openapi_document_describes_the_api(client, session):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/v1/mediators",
        "/api/v1/mediators/{public_id}",
        "/api/v1/mediators/{public_id}/credential",
        "/api/v1/verify/{certificate_number}",
        "/api/v1/verify/{certificate_number}/credential",
        "/api/v1/openapi.json",
    }
    components = document["components"]
    parameters = components["parameters"]
    assert parameters["q"]["schema"]["maxLength"] == 100
    assert parameters["per_page"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert parameters["page"]["schema"]["minimum"] == 1
    assert "investor_state" in parameters["specialisation"]["schema"]["enum"]
    assert "NL" in parameters["country"]["schema"]["enum"]
    listing = document["paths"]["/api/v1/mediators"]["get"]
    assert set(listing["responses"]) == {"200", "304", "400", "429"}
    detail = document["paths"]["/api/v1/mediators/{public_id}"]["get"]
    assert set(detail["responses"]) == {"200", "304", "400", "404", "429"}
    assert set(components["schemas"]["MediatorItem"]["required"]) == ITEM_KEYS
    assert set(components["schemas"]["Verification"]["required"]) == DETAIL_KEYS
    assert components["schemas"]["Verification"]["properties"]["status"]["enum"] == [
        "applicant",
        "certified",
        "lapsed",
        "struck",
        "suspended",
        "revoked",
    ]
    too_many = components["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
