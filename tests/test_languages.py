"""Every visitor in their language: prefixes, negotiation, and no English left on the main pages.

The walk renders each main page in English and in each complete language from the demo
register and looks for text the two share that reads as English (after removing what is data:
people's, organisations' and programs' names). ``<html lang>`` must name the page's language.
"""

import re
from html.parser import HTMLParser

import pytest
from babel import Locale
from sqlalchemy import String, Text, select

from registry.clock import local_today
from registry.database import db
from registry.mediators.models import Mediator, Status
from registry.models import metadata
from registry.organisations.models import Organisation
from registry.reference import by_name
from registry.search.verification import verify_mediator
from tests.conftest import post_form

COMPLETE = ("fr", "es", "de")
# Words that only English text carries; a shared text holding one is an English leftover.
ENGLISH = frozenset(
    re.findall(
        r"\w+",
        """the and to your you are for with this that not all from by were has have find
        search verify mediators certified certificate sign complaint complaints since until
        valid today there what when which who how more less than about home track filed
        listed account password number country language languages program programs previous
        next older newer back continue submit send save cancel yes""",
    )
)
WORD = re.compile(r"[A-Za-z]+")
SKIPPED_TAGS = {"script", "style", "code", "pre"}
SHOWN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}


class VisibleText(HTMLParser):
    """The texts of a page a person reads or hears: text nodes and labelling attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.lang: str | None = None
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        if values.get("translate") == "no" or ("lang" in values and tag != "html"):
            # The language switcher names each language in itself ("English"): not a leftover.
            return
        for name in SHOWN_ATTRIBUTES & values.keys():
            self.texts.append(values[name] or "")
        if tag == "input" and values.get("type") in {"submit", "button"}:
            self.texts.append(values.get("value") or "")

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def read(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


def leftovers(english: list[str], translated: list[str], data: list[str]) -> list[str]:
    shared = set(english) & set(translated)
    found = []
    for text in sorted(shared):
        remainder = text
        for value in data:
            if value in remainder:
                remainder = remainder.replace(value, " ")
        if {word.lower() for word in WORD.findall(remainder)} & ENGLISH:
            found.append(text)
    return found


@pytest.fixture
def walk(demo):
    """The demo's main pages (anonymous and signed in) and the data strings they show."""
    session = db.session
    today = local_today()
    certified = struck = None
    for mediator in session.scalars(select(Mediator).order_by(Mediator.id)):
        verification = verify_mediator(session, mediator.public_id, today)
        if verification is None:
            continue
        if verification.status == Status.CERTIFIED and certified is None:
            certified = verification
        if verification.status == Status.STRUCK and struck is None:
            struck = verification
        if certified and struck:
            break
    assert certified and struck, "the demo has a certified and a struck mediator"
    number = certified.standing.certification.certificate_number
    organisation = session.scalars(select(Organisation).order_by(Organisation.id)).first()
    pages = [
        "/",
        f"/mediators?q={certified.mediator.name.split()[-1]}",
        f"/mediators/{certified.mediator.public_id}",
        f"/mediators/{struck.mediator.public_id}",
        f"/verify?number={number}",
        "/verify?number=MR-1999-0001",
        "/organisations",
        f"/organisations/{organisation.id}",
        "/complaints/new",
        "/complaints/track",
        "/login",
        "/register",
    ]
    return demo.app, pages, data_strings(session)


def data_strings(session) -> list[str]:
    """Every text the database holds (names, biographies, reviews…): data, not interface."""
    values = {"Mediator Registry"}
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        if not columns:
            continue
        for row in session.execute(select(*columns)):
            values.update(v.strip() for v in row if isinstance(v, str) and len(v.strip()) > 3)
    return sorted(values, key=len, reverse=True)


@pytest.mark.xdist_group("demo")
@pytest.mark.parametrize("language", COMPLETE)
def test_the_main_pages_have_no_english_left(walk, language):
    app, pages, data = walk
    client = app.test_client()
    problems = {}
    for path in pages:
        english = client.get(f"/en{path}")
        translated = client.get(f"/{language}{path}")
        assert english.status_code == translated.status_code, path
        page = read(translated.get_data(as_text=True))
        assert page.lang == language, f"{path}: <html lang={page.lang!r}>"
        left = leftovers(read(english.get_data(as_text=True)).texts, page.texts, data)
        if left:
            problems[path] = left[:8]
    assert not problems, f"English left on the {language} pages: {problems}"


@pytest.mark.xdist_group("demo")
def test_signed_in_pages_follow_the_prefix_and_the_preference(walk):
    app, _pages, data = walk
    client = app.test_client()
    post_form(
        client,
        "/login",
        {"email": "mediator001@demo.registry.example", "password": "registry-demo-2026"},
    )
    english = client.get("/en/my/certification")
    german = client.get("/de/my/certification")
    assert read(german.get_data(as_text=True)).lang == "de"
    left = leftovers(
        read(english.get_data(as_text=True)).texts, read(german.get_data(as_text=True)).texts, data
    )
    assert not left, left[:8]


def test_a_prefix_serves_the_page_in_that_language_and_remembers_it(client):
    response = client.get("/fr/login")
    assert response.status_code == 200
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert "registry_locale=fr" in response.headers["Set-Cookie"]
    # Links on a French page stay French.
    assert 'href="/fr/verify"' in response.get_data(as_text=True)
    # Without a prefix the remembered choice decides.
    assert '<html lang="fr">' in client.get("/login").get_data(as_text=True)


def test_without_a_prefix_the_browser_language_decides(client):
    page = client.get("/login", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in page.get_data(as_text=True)
    assert "Accept-Language" in page.headers["Vary"]
    page = client.get("/login", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_the_home_page_redirects_to_the_browser_language(client):
    response = client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/es/"
    assert client.get("/", headers={"Accept-Language": "en-GB"}).status_code == 200
    assert client.get("/es/").status_code == 200


def test_every_page_offers_its_other_languages(client):
    page = client.get("/de/verify?number=MR-1").get_data(as_text=True)
    for code in ("en", "fr", "es", "de", "nl"):
        assert f'hreflang="{code}" href="http://localhost/{code}/verify?number=MR-1"' in page
    assert 'hreflang="x-default" href="http://localhost/verify?number=MR-1"' in page


def test_the_api_follows_accept_language_only(client):
    client.get("/fr/login")  # a remembered French choice does not change the API's answers
    english = client.get("/api/v1/verify/MR-1999-000001").get_json()
    german = client.get(
        "/api/v1/verify/MR-1999-000001", headers={"Accept-Language": "de"}
    ).get_json()
    assert english.keys() == german.keys()
    assert english != german  # the explanation or message is German, the codes the same


@pytest.mark.xdist_group("demo")
def test_the_filters_name_countries_and_languages_in_the_page_language(walk):
    app, _pages, _data = walk
    page = app.test_client().get("/de/mediators").get_data(as_text=True)
    for field, names in (
        ("country", Locale("de").territories),
        ("language", Locale("de").languages),
    ):
        select_ = page.split(f'name="{field}"', 1)[1].split("</select>", 1)[0]
        options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+?) \(', select_)
        assert len(options) > 3
        assert all(name == names[code] for code, name in options)
        assert [code for code, _ in options] == [c for c, _ in by_name(options)]
