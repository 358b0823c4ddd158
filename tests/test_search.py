"""Find a Mediator: name matching, filters, order, bad input, and the index kept in step.

Every test runs on SQLite (FTS5) and PostgreSQL (tsvector); the same table of queries must
give the same mediators on both.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.clock import local_today
from registry.database import utcnow
from registry.mediators.services import (
    lift_suspension,
    suspend_certification,
    update_profile,
)
from registry.search import queries
from registry.search.models import Listing
from registry.search.queries import MediatorSearch, SearchError, parse_search, search_listings
from registry.search.services import rebuild_listings, refresh_listings
from tests.factories import grant, open_invoice, pay, staff_user
from tests.search_register import CERTIFIED, build_register, certify

SPECIALISATIONS = frozenset({"commercial", "family", "intercultural"})


@pytest.fixture(params=["index", "scan"])
def register(request, ctx, session, monkeypatch):
    """The register, searched both ways SQLite can fetch a page (PostgreSQL has one way)."""
    if request.param == "scan":
        monkeypatch.setattr(queries, "NARROW", -1)  # every search tests rows in order
    return build_register(session)


def names(session, today=None, **criteria):
    page = search_listings(
        session, MediatorSearch(per_page=100, **criteria), today or local_today()
    )
    return [listing.name for listing in page.items]


# In the order of the folded names ("lukasz" sorts among the l's).
ALL = [
    "Anna Müller",
    "Eva Mueller",
    "José García Márquez",
    "Łukasz Nowak",
    "Nguyễn Văn An",
    "Siobhán O'Connor",
]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("mull", ["Anna Müller", "Eva Mueller"]),
        ("muller", ["Anna Müller", "Eva Mueller"]),
        ("mueller", ["Anna Müller", "Eva Mueller"]),
        ("MÜLLER", ["Anna Müller", "Eva Mueller"]),
        ("anna mü", ["Anna Müller"]),
        ("müller anna", ["Anna Müller"]),
        ("lukasz", ["Łukasz Nowak"]),
        ("Łukasz", ["Łukasz Nowak"]),
        ("luk now", ["Łukasz Nowak"]),
        ("nguyen", ["Nguyễn Văn An"]),
        ("van an", ["Nguyễn Văn An"]),
        ("oconnor", ["Siobhán O'Connor"]),
        ("o'connor", ["Siobhán O'Connor"]),
        ("connor", ["Siobhán O'Connor"]),
        ("siobhan", ["Siobhán O'Connor"]),
        ("garcia marq", ["José García Márquez"]),
        ("  JOSE   garcía ", ["José García Márquez"]),
        ("jose x", []),
        ("ller", []),  # inside a word, not the start of one
        ("", ALL),
        ('"', []),
        ("*", []),
        ('"mull"*', ["Anna Müller", "Eva Mueller"]),
        ("NEAR", []),
        ("mull NEAR nowak", []),
        ("-mull", ["Anna Müller", "Eva Mueller"]),
        ("name:anna", []),
        ("search_name:mull", []),
        ("(mull OR nowak)", []),
        ("mull OR nowak", []),
        ("%", []),
        ("_", []),
        ("'; DROP TABLE listings; --", []),
    ],
)
def test_names_match_by_folded_word_prefix(register, session, q, expected):
    assert names(session, q=q) == expected


def test_only_mediators_certified_today_are_listed(register, session):
    listed = names(session)
    assert listed == ALL
    for status_name in ["Greta", "Karl", "Lena", "Otto", "Paul", "Rosa"]:
        assert f"{status_name} Müller" not in listed
    assert names(session, q="muller") == ["Anna Müller", "Eva Mueller"]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"country": "DE"}, ["Anna Müller"]),
        ({"country": "FR"}, []),
        ({"language": "en"}, ["Anna Müller", "Nguyễn Văn An", "Siobhán O'Connor", "Łukasz Nowak"]),
        ({"language": "de", "country": "AT"}, ["Eva Mueller"]),
        ({"specialisation": "online_dispute_resolution"}, ["Eva Mueller", "Siobhán O'Connor"]),
        ({"specialisation": "intercultural", "language": "pl"}, ["Łukasz Nowak"]),
        ({"certification_type": "advocate"}, ["José García Márquez"]),
        ({"certification_type": "mediator", "q": "jose"}, []),
        (
            {
                "q": "mu",
                "country": "AT",
                "language": "de",
                "specialisation": "online_dispute_resolution",
            },
            ["Eva Mueller"],
        ),
        ({"q": "mu", "country": "DE", "specialisation": "online_dispute_resolution"}, []),
    ],
)
def test_filters_combine(register, session, criteria, expected):
    assert sorted(names(session, **criteria)) == sorted(expected)


def test_sorting_and_paging(register, session):
    today = local_today()
    assert names(session) == ALL
    by_country = names(session, sort="country")
    assert by_country[0] == "Eva Mueller" and by_country[-1] == "Nguyễn Văn An"  # AT ... VN
    recent = names(session, sort="recent")
    assert recent[0] == "Anna Müller"  # granted 100 days ago, the most recent
    page = search_listings(session, MediatorSearch(page=2, per_page=4), today)
    assert page.total == 6 and [item.name for item in page.items] == ALL[4:]
    beyond = search_listings(session, MediatorSearch(page=3, per_page=4), today)
    assert beyond.total == 6 and beyond.items == []


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"page": "0"}, "page must be 1 or more"),
        ({"page": "-1"}, "page must be a whole number"),
        ({"page": "two"}, "page must be a whole number"),
        ({"page": "1.5"}, "page must be a whole number"),
        ({"page": "٣"}, "page must be a whole number"),  # a digit, but not ASCII
        ({"page": "9" * 40}, "page is past the first 10,000 results"),
        ({"page": "501"}, "page is past the first 10,000 results"),
        ({"per_page": "101"}, "per_page must be at most 100"),
        ({"per_page": "0"}, "per_page must be 1 or more"),
        ({"q": "x" * 101}, "q is longer than 100 characters"),
        ({"q": "a b c d e f g h i"}, "q has more than 8 words"),
        ({"country": "XX"}, "unknown country: XX"),
        ({"language": "zz"}, "unknown language: zz"),
        ({"specialisation": "astrology"}, "unknown specialisation: astrology"),
        ({"sort": "random"}, "unknown sort: random"),
        ({"type": "robot"}, "unknown type: robot"),
        ({"colour": "blue"}, "unknown parameter: colour"),
    ],
)
def test_bad_parameters_are_refused_with_the_reason(args, reason):
    with pytest.raises(SearchError, match=reason):
        parse_search(args, SPECIALISATIONS)


def test_parameters_are_read_leniently_where_harmless():
    search = parse_search(
        {"q": "  anna\tmüller ", "country": "de", "language": "EN", "page": "2", "per_page": ""},
        SPECIALISATIONS,
    )
    assert (search.q, search.country, search.language) == ("anna müller", "DE", "en")
    assert (search.page, search.per_page) == (2, 20)


def test_the_index_follows_every_change_as_it_commits(register, session):
    today = local_today()
    staff = staff_user(session)
    greta = register["Greta Müller"]
    pay(session, greta.current_certification, on=today)  # paid inside the grace period
    session.commit()
    assert "Greta Müller" in names(session, q="greta")

    anna = register["Anna Müller"].current_certification
    suspend_certification(
        session, anna, on=today, reason="Assessment.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert names(session, q="anna") == []
    lift_suspension(
        session, anna, on=today, reason="Cleared.", today=today, now=utcnow(), actor=staff
    )
    session.commit()
    assert names(session, q="anna") == ["Anna Müller"]

    update_profile(
        session,
        register["Eva Mueller"],
        now=utcnow(),
        actor=staff,
        name="Eva Schäfer",
        country="CH",
    )
    session.commit()
    assert names(session, q="schaefer", country="CH") == ["Eva Schäfer"]
    assert names(session, q="mueller") == ["Anna Müller", "Greta Müller"]


def test_a_listing_ends_on_its_last_covered_day_without_any_job(register, session):
    listing = session.scalar(select(Listing).where(Listing.name == "Anna Müller"))
    last_day = listing.listed_until
    assert "Anna Müller" in names(session, today=last_day)
    assert "Anna Müller" not in names(session, today=last_day + timedelta(days=1))


def test_a_regrant_after_striking_is_listed_under_the_new_certificate(register, session):
    today = local_today()
    karl = register["Karl Müller"]
    grant(session, karl, on=today)
    session.commit()
    listing = session.scalar(select(Listing).where(Listing.mediator_id == karl.id))
    assert listing.certificate_number == karl.current_certification.certificate_number
    assert listing.certified_since == today


def test_rebuilding_the_index_gives_what_the_commits_kept(register, session):
    def snapshot():
        rows = session.execute(select(Listing).order_by(Listing.mediator_id)).scalars()
        return [
            (r.mediator_id, r.certificate_number, r.certified_since, r.listed_until, r.search_name)
            for r in rows
        ]

    kept = snapshot()
    assert rebuild_listings(session) == len(CERTIFIED)
    assert snapshot() == kept
    refresh_listings(session, [m.id for m in register.values()])
    assert snapshot() == kept


def test_the_index_only_refreshes_whom_a_transaction_touched(register, session):
    anna = register["Anna Müller"]
    before = session.scalar(select(Listing.refreshed_at).where(Listing.mediator_id == anna.id))
    certify(session, "Zelda Zimmer", "NL", ["nl"], [], local_today() - timedelta(days=3))
    session.commit()
    after = session.scalar(select(Listing.refreshed_at).where(Listing.mediator_id == anna.id))
    assert before == after
    assert names(session, q="zim") == ["Zelda Zimmer"]


def test_an_unpaid_invoice_for_the_next_period_keeps_the_listing(register, session):
    anna = register["Anna Müller"].current_certification
    open_invoice(session, anna)  # issued ahead by the job; not paid yet
    session.commit()
    assert names(session, q="anna") == ["Anna Müller"]


def test_filter_counts_are_counted_by_one_thread_while_the_others_wait(session, monkeypatch):
    """When the kept counts run out, one thread scans and the others take its answer."""
    counted: list[int] = []
    release = threading.Event()

    def slow_count(_session, _today):
        counted.append(1)
        release.wait(10)
        return queries.FilterCounts({"NL": 1}, {"nl": 1})

    monkeypatch.setattr(queries, "_count_filters", slow_count)
    monkeypatch.setattr(queries, "_COUNTS_CACHE", {})
    today = date(2026, 12, 7)
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(queries.filter_counts, session, today, 300) for _ in range(4)]
        deadline = time.monotonic() + 1
        while len(counted) < 2 and time.monotonic() < deadline:  # each would count by now
            time.sleep(0.01)
        release.set()
        answers = [call.result() for call in calls]
    assert len(counted) == 1
    assert answers == [queries.FilterCounts({"NL": 1}, {"nl": 1})] * 4
