"""Capped counts: past SEARCH_COUNT_CAP matches, the search says "more than" and stops there.

Run with a small cap over the six listed mediators of ``search_register``, on SQLite and
PostgreSQL, and on both ways each fetches a page (through the word index, or a scan in order).
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from registry.clock import local_today
from registry.config import ConfigError, load_config
from registry.search import queries
from registry.search.models import Listing
from registry.search.queries import MediatorSearch, parse_search, search_listings
from tests.factories import specialise
from tests.search_register import build_register
from tests.test_search import ALL

ENGLISH = ["Anna Müller", "Łukasz Nowak", "Nguyễn Văn An", "Siobhán O'Connor"]  # in folded order


@pytest.fixture(params=["index", "scan"])
def register(request, ctx, session, monkeypatch):
    if request.param == "scan":
        monkeypatch.setattr(queries, "NARROW", -1)
    return build_register(session)


@pytest.fixture
def capped(app, monkeypatch):
    """The web app with a count cap of 3."""
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 3)
    return 3


def search(session, cap, **criteria):
    criteria.setdefault("per_page", 100)
    return search_listings(session, MediatorSearch(**criteria), local_today(), cap)


@pytest.mark.parametrize(
    ("criteria", "matching"),
    [({}, ALL), ({"language": "en"}, ENGLISH), ({"q": "m"}, ALL[:3])],
)
def test_counts_are_exact_up_to_the_cap_and_a_floor_beyond(register, session, criteria, matching):
    found = len(matching)
    exact = search(session, found, **criteria)
    assert (exact.total, exact.total_is_lower_bound) == (found, False)
    assert [listing.name for listing in exact.items] == matching

    floor = search(session, found - 1, **criteria)
    assert (floor.total, floor.total_is_lower_bound) == (found - 1, True)
    # The page stops at the cap: the first ones in order, and no more.
    assert [listing.name for listing in floor.items] == matching[: found - 1]
    assert floor.pages == 1 and not floor.has_next


def test_a_page_that_straddles_the_cap_is_cut_at_it(register, session):
    second = search(session, 3, per_page=2, page=2)
    assert (second.total, second.total_is_lower_bound) == (3, True)
    assert [listing.name for listing in second.items] == [ALL[2]]


def test_a_grant_expired_since_the_listing_was_written_is_not_counted(register, session):
    """The expired grants are taken off a capped count without making it a false floor."""
    today = local_today()
    nine_days_ago = today - timedelta(days=9)
    specialise(session, register["Nguyễn Văn An"], "investor_state", on=nine_days_ago)
    # Ends tonight: the listing keeps the facet until the daily job refreshes it.
    specialise(
        session, register["Eva Mueller"], "investor_state", on=nine_days_ago, valid_until=today
    )
    session.commit()
    tomorrow = today + timedelta(days=1)
    listed = ["Anna Müller", "Nguyễn Văn An", "Łukasz Nowak"]
    for cap in (3, 4):
        page = search_listings(
            session, MediatorSearch(specialisation="investor_state"), tomorrow, cap
        )
        assert (page.total, page.total_is_lower_bound) == (3, False)
        assert sorted(listing.name for listing in page.items) == sorted(listed)
    floor = search_listings(session, MediatorSearch(specialisation="investor_state"), tomorrow, 2)
    assert (floor.total, floor.total_is_lower_bound, len(floor.items)) == (2, True, 2)


def test_pages_past_the_cap_are_refused_with_the_reason():
    args = {"page": "2", "per_page": "3"}
    with pytest.raises(queries.SearchError, match="page is past the first 3 results; narrow"):
        parse_search(args, frozenset(), reachable=3)
    assert parse_search(args, frozenset(), reachable=4).page == 2


def test_the_page_says_more_than_the_cap_and_how_to_see_the_others(client, register, capped):
    html = client.get("/mediators").get_data(as_text=True)
    assert "More than 3 certified mediators; refine your search to see all of them" in html
    assert html.count('<li class="result') == 3
    assert "These are the first 3 results, and more mediators match." in html
    filtered = client.get("/mediators?language=en").get_data(as_text=True)
    assert "More than 3 certified mediators match; refine your search" in filtered
    refined = client.get("/mediators?language=en&country=PL").get_data(as_text=True)
    assert "1 certified mediator matches" in refined and "More than" not in refined
    assert "These are the first" not in refined


def test_the_page_refuses_a_page_past_the_cap(client, register, capped):
    response = client.get("/mediators?per_page=2&page=3")
    assert response.status_code == 400
    assert "page is past the first 3 results; narrow the search" in response.get_data(as_text=True)


def test_the_api_gives_the_cap_as_a_lower_bound(client, register, capped):
    body = client.get("/api/v1/mediators").get_json()
    assert (body["total"], body["total_is_lower_bound"]) == (3, True)
    assert [item["name"] for item in body["items"]] == ALL[:3]
    exact = client.get("/api/v1/mediators?q=mull").get_json()
    assert (exact["total"], exact["total_is_lower_bound"]) == (2, False)
    refused = client.get("/api/v1/mediators?per_page=2&page=3")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["message"] == (
        "page is past the first 3 results; narrow the search"
    )


def test_the_openapi_document_describes_the_flag_and_the_cap(client, capped):
    document = client.get("/api/v1/openapi.json").get_json()
    page = document["components"]["schemas"]["MediatorPage"]
    assert page["properties"]["total_is_lower_bound"]["type"] == "boolean"
    assert "total_is_lower_bound" in page["required"]
    assert page["properties"]["total"]["maximum"] == 3
    assert document["components"]["parameters"]["page"]["schema"]["maximum"] == 3


@pytest.mark.parametrize(("value", "expected"), [("", 10_000), ("250", 250)])
def test_the_cap_is_a_setting(monkeypatch, tmp_path, value, expected):
    monkeypatch.setenv("SEARCH_COUNT_CAP", value)
    assert load_config(tmp_path)["SEARCH_COUNT_CAP"] == expected


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_cap_that_cannot_work_is_refused(monkeypatch, tmp_path, value):
    monkeypatch.setenv("SEARCH_COUNT_CAP", value)
    with pytest.raises(ConfigError, match="SEARCH_COUNT_CAP must be"):
        load_config(tmp_path)


def test_postgresql_trusts_a_large_estimate_and_does_not_count(register, session, monkeypatch):
    """The planner's estimate, far above the cap, answers "more than" without a count."""
    is_postgresql = session.get_bind().dialect.name == "postgresql"
    estimates = []

    def estimate(session, query):
        estimates.append(query)
        return 10**9

    monkeypatch.setattr(queries, "_estimated_rows", estimate)
    page = search(session, 100, language="en")
    assert [listing.name for listing in page.items] == ENGLISH
    if is_postgresql:
        assert (page.total, page.total_is_lower_bound, len(estimates)) == (100, True, 1)
    else:  # SQLite counts through FTS5, in a millisecond
        assert (page.total, page.total_is_lower_bound, estimates) == (4, False, [])


def test_postgresql_counts_when_the_estimate_is_not_far_above_the_cap(register, session):
    page = search(session, 3, q="mu")  # two match, whatever the planner guesses
    assert (page.total, page.total_is_lower_bound) == (2, False)
    if session.get_bind().dialect.name == "postgresql":
        assert queries._estimated_rows(session, select(Listing)) > 0


def test_a_small_estimate_above_the_cap_is_not_trusted(register, session, monkeypatch):
    """Statistics of rows since rolled back or deleted say 20 where 6 match: count them."""
    monkeypatch.setattr(queries, "_estimated_rows", lambda session, query: 20)
    page = search(session, len(ALL))
    assert (page.total, page.total_is_lower_bound) == (len(ALL), False)
