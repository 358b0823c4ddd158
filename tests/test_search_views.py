"""The public pages: Find a Mediator, profiles in every status, Verify, Verify Training."""

import re
from datetime import timedelta

import pytest

from registry.clock import local_today
from registry.database import utcnow
from registry.mediators.services import record_qualification
from tests.factories import grant, make_mediator, make_program, set_fees, staff_user
from tests.search_register import build_register, certify


@pytest.fixture
def register(ctx, session):
    return build_register(session)


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def profile_url(register, name):
    return f"/mediators/{register[name].public_id}"


def test_find_lists_certified_mediators_with_count_and_links(client, register):
    html = page(client, "/mediators?q=mull")
    assert "2 certified mediators match" in html
    assert profile_url(register, "Anna Müller") in html
    assert profile_url(register, "Eva Mueller") in html
    for hidden in ["Greta", "Karl", "Lena", "Otto", "Paul", "Rosa"]:
        assert f"{hidden} Müller" not in html


def test_find_shows_filters_and_keeps_them(client, register):
    html = page(client, "/mediators?country=de&language=en&specialisation=investor_state")
    assert "1 certified mediator matches" in html
    assert "Anna Müller" in html and "Investor-State" in html and "German, English" in html
    assert '<option value="DE" selected>' in html


def test_find_says_when_nothing_matches(client, register):
    html = page(client, "/mediators?q=zzz")
    assert "No certified mediator matches this search." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page must be 1 or more"),
        ("per_page=500", "per_page must be at most 100"),
        ("country=XX", "unknown country: XX"),
        ("bogus=1", "unknown parameter: bogus"),
        ("q=" + "a" * 101, "q is longer than 100 characters"),
    ],
)
def test_find_explains_bad_parameters(client, register, query, message):
    html = page(client, f"/mediators?{query}", status=400)
    assert f"This search cannot be run: {message}." in html


@pytest.mark.parametrize(
    "query", ["q=%ff%fe", "q=%00", 'q="NEAR(a b)"', "q=*:-^", "q=%E2%80%AE", "sort=recent&page=2"]
)
def test_find_survives_odd_input(client, register, query):
    assert page(client, f"/mediators?{query}")


def test_a_certified_profile_shows_what_the_mediator_published(client, register):
    html = page(client, profile_url(register, "Anna Müller"))
    assert "Certified today" in html and "Not currently certified" not in html
    assert "https://mediation.example" in html  # the published contact
    assert "Commercial" in html and "German" in html
    assert 'name="robots"' not in html
    assert "@example.org" not in html  # the private e-mail address


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Greta Müller", "the listing has lapsed"),
        ("Karl Müller", "struck off the register since"),
        ("Lena Müller", "certification suspended since"),
        ("Otto Müller", "certification revoked on"),
        ("Paul Müller", "certification has not taken effect"),
        ("Rosa Müller", "certification has not taken effect"),
    ],
)
def test_a_profile_not_certified_today_never_reads_as_valid(client, register, name, says):
    html = page(client, profile_url(register, name))
    assert "Not currently certified" in html and says in html
    assert "Certified today" not in html
    assert "https://mediation.example" not in html  # details hidden
    assert '<meta name="robots" content="noindex">' in html
    assert "@example.org" not in html


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Karl Müller", "not paid or waived by the end of the grace period"),
        ("Lena Müller", "Professional Conduct Assessment outcome."),
        ("Otto Müller", "Professional Conduct Assessment outcome."),
    ],
)
def test_struck_suspended_and_revoked_say_since_when_and_why(client, register, name, reason):
    html = page(client, profile_url(register, name))
    assert reason in html
    since = (local_today() - timedelta(days=5)).strftime("%-d %B %Y")
    if name != "Karl Müller":
        assert since in html


def test_profiles_are_found_by_public_id_only(client, register):
    anna = register["Anna Müller"]
    assert page(client, f"/mediators/{anna.public_id.lower()}")
    page(client, "/mediators/MNOTAREALID", status=404)
    page(client, "/mediators/" + "M" * 40, status=404)
    page(client, f"/mediators/{anna.id}", status=404)


def test_verify_a_certificate_number(client, register):
    number = register["Anna Müller"].current_certification.certificate_number
    html = page(client, f"/verify?number=%20{number.lower()}%20")
    assert "Certified today" in html and "Anna Müller" in html
    struck = register["Karl Müller"].current_certification.certificate_number
    html = page(client, f"/verify?number={struck}")
    assert "Not currently certified" in html and "struck off" in html


@pytest.mark.parametrize("typed", ["mr 2024 12", "MR-2024-0012", "mr2024-000012"])
def test_verify_finds_numbers_typed_without_zeros_dashes_or_capitals(client, session, ctx, typed):
    set_fees(session)
    mediator = make_mediator(session, name="Nora Number")
    grant(session, mediator, on=local_today() - timedelta(days=30), number="MR-2024-000012")
    session.commit()
    html = page(client, f"/verify?number={typed}")
    assert "Certified today" in html and "Nora Number" in html


def test_verify_examples_show_the_real_number_format(client):
    html = page(client, "/verify?number=MR-2024'--", status=400)
    assert "like MR-2024-000012." in html
    assert 'placeholder="MR-2024-000012"' in html


def test_an_old_certificate_stays_invalid_after_a_new_grant(client, register, session):
    karl = register["Karl Müller"]
    old = karl.current_certification.certificate_number
    grant(session, karl, on=local_today())
    session.commit()
    assert "Not currently certified" in page(client, f"/verify?number={old}")
    new = karl.current_certification.certificate_number
    assert "Certified today" in page(client, f"/verify?number={new}")
    assert "Certified today" in page(client, profile_url(register, "Karl Müller"))


@pytest.mark.parametrize(
    ("number", "status", "message"),
    [
        ("MR-1900-0001", 404, "There is no certificate with the number MR-1900-000001."),
        ("MR-2024'--", 400, "letters, digits and dashes only"),
        ("X" * 50, 400, "letters, digits and dashes only"),
        ("%ff%fe", 400, "letters, digits and dashes only"),
    ],
)
def test_verify_explains_unknown_and_malformed_numbers(client, register, number, status, message):
    assert message in page(client, f"/verify?number={number}", status=status)


def test_verify_training_lists_qualified_people(client, session, ctx):
    today = local_today()
    program = make_program(session, program_type="CMTP")
    for name in ["Ines Qualified", "Jan Trained"]:
        mediator = make_mediator(session, name=name)
        record_qualification(
            session,
            mediator,
            program_id=program.id,
            completed_on=today - timedelta(days=30),
            today=today,
            now=utcnow(),
            actor=staff_user(session),
        )
    session.commit()
    html = page(client, "/verify-training")
    assert "2 training records" in html and "Ines Qualified" in html and "CMTP program" in html
    html = page(client, "/verify-training?q=jan")
    assert "1 training record" in html and "Ines" not in html
    assert "letters" not in page(client, "/verify-training?q=%22*")
    assert "page must be 1 or more" in page(client, "/verify-training?page=0", status=400)


def test_public_pages_never_show_e_mail_addresses(client, register):
    for url in ["/mediators", "/mediators?q=muller", "/verify-training"] + [
        f"/mediators/{mediator.public_id}" for mediator in register.values()
    ]:
        assert not re.search(r"[\w.]+@example\.org", page(client, url)), url


@pytest.mark.parametrize(
    "url",
    ["/mediators/%00", "/mediators/M%00X", "/verify?number=%00", "/api/v1/mediators/%00"],
)
def test_nul_bytes_are_unknown_ids_not_errors(client, register, url):
    assert client.get(url).status_code in {400, 404}


def test_staff_pages_treat_nul_bytes_as_unknown(client, session, register):
    from registry.accounts.models import Role
    from tests.conftest import post_form
    from tests.factories import PASSWORD, make_user

    make_user(session, email="nul-checker@example.org", name="Staff", roles=[Role.SUPPORT])
    post_form(client, "/login", {"email": "nul-checker@example.org", "password": PASSWORD})
    assert client.get("/staff/mediators/M%00").status_code == 404
    assert client.get("/staff/mediators?q=%00").status_code == 200


def test_filters_offer_only_values_that_find_someone_with_counts(client, register):
    html = page(client, "/mediators")
    country = html.split('<select id="country"', 1)[1].split("</select>", 1)[0]
    language = html.split('<select id="language"', 1)[1].split("</select>", 1)[0]
    # Listed: DE, AT, PL, VN, IE, ES; the Müllers of DE in other statuses are not counted.
    assert '<option value="DE">Germany (1)</option>' in country
    assert '<option value="AT">Austria (1)</option>' in country
    assert 'value="FR"' not in country and 'value="US"' not in country
    assert '<option value="de">German (2)</option>' in language
    assert '<option value="en">English (4)</option>' in language
    assert 'value="ja"' not in language
    # A value asked for that finds nobody stays offered, so the form shows what was asked.
    chosen = page(client, "/mediators?country=FR")
    assert '<option value="FR" selected>France (0)</option>' in chosen
    assert "0 certified mediators match" in chosen


NAMESAKE_NOTICE = "Same name as another listed mediator:</strong> check the certificate number"
SAME_NAME = (
    "Another certified mediator has the same name:</strong> make sure the certificate number"
)


@pytest.fixture
def namesakes(register, session):
    """Two certified Jan de Vries (NL, BE), and a certified Greta Müller like the lapsed one."""
    today = local_today()
    people = {
        key: certify(session, name, country, ["en"], [], today - timedelta(days=days))
        for key, name, country, days in [
            ("jan_nl", "Jan de Vries", "NL", 50),
            ("jan_be", "Jan de Vries", "BE", 60),
            ("greta_fr", "Greta Müller", "FR", 70),
        ]
    }
    session.commit()  # the index is refreshed as the transaction commits
    return {**register, **people}


def number_of(mediator):
    return mediator.current_certification.certificate_number


def test_find_marks_namesakes_on_the_page_and_what_tells_them_apart(client, namesakes):
    html = page(client, "/mediators?q=vries")
    assert "2 certified mediators match" in html
    assert html.count(NAMESAKE_NOTICE) == 2
    assert html.count('class="result result-namesake"') == 2
    assert html.count('class="result-facts result-facts-telling"') == 2
    for key, country in [("jan_nl", "Netherlands"), ("jan_be", "Belgium")]:
        assert number_of(namesakes[key]) in html
        assert f'<span class="kv">Country</span>{country}' in html


def test_find_does_not_mark_different_names(client, namesakes):
    html = page(client, "/mediators?q=mull")
    # Anna Müller, Eva Mueller and the certified Greta Müller: no two share a name (the lapsed
    # Greta Müller is not listed).
    assert "Greta Müller" in html
    assert NAMESAKE_NOTICE not in html and "result-namesake" not in html


def test_verify_and_profile_name_the_number_when_a_namesake_is_listed(client, namesakes):
    jan = namesakes["jan_nl"]
    for url in [f"/verify?number={number_of(jan)}", f"/mediators/{jan.public_id}"]:
        html = page(client, url)
        assert f"{SAME_NAME} is <strong>{number_of(jan)}</strong>." in html, url
        assert number_of(namesakes["jan_be"]) not in html


def test_a_not_listed_person_with_a_listed_namesake_is_told_apart(client, namesakes):
    lapsed = namesakes["Greta Müller"]
    html = page(client, f"/mediators/{lapsed.public_id}")
    assert "Not currently certified" in html
    assert f"{SAME_NAME} is <strong>{number_of(lapsed)}</strong>." in html
    # The certified Greta Müller's only namesake is not listed: nothing to tell apart.
    certified = namesakes["greta_fr"]
    for url in [f"/verify?number={number_of(certified)}", f"/mediators/{certified.public_id}"]:
        assert SAME_NAME not in page(client, url), url


def test_verify_and_profile_say_nothing_without_a_namesake(client, namesakes):
    anna = namesakes["Anna Müller"]
    for url in [f"/verify?number={number_of(anna)}", f"/mediators/{anna.public_id}"]:
        assert SAME_NAME not in page(client, url), url
