"""Languages and accessibility in the browser.

axe-core on every public page and every form people outside the staff use: WCAG 2.2 AA (and
axe's best practices), 0 violations, in English and German, at desktop and phone widths; the
results are saved in test-artifacts/axe/. Keyboard use: the skip link comes first and moves
focus to the content, focus is visible, and Tab never gets stuck. The README's walk-throughs
in French, found by their French labels (read from the catalogue, so a missing translation
fails the walk).
"""

import json
import re
import sqlite3
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from babel.support import Translations
from playwright.sync_api import expect

from tests.test_browser import ARTIFACTS, browser, live_server, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-languages")]

LANGUAGES = ("en", "de")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
RESULTS = ARTIFACTS / "axe"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "registry" / "translations"
FEEDBACK_LINK = re.compile(r"https?://\S+?/feedback/[\w-]+")


@pytest.fixture(scope="module")
def places(browser, live_server, tmp_path_factory):  # noqa: F811
    """The addresses to check, found as a visitor finds them, and signed-in browser states."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/mediators?q=m")
    profile = page.locator(".result h2 a").first.get_attribute("href")
    page.goto(f"{live_server}{profile}")
    number = page.locator(".verdict strong").nth(1).inner_text()
    page.goto(f"{live_server}/organisations")
    organisation = page.locator("main a[href^='/organisations/']").first.get_attribute("href")

    # A struck mediator's public profile: the support staff's list names one.
    sign_in(page, live_server, "support@demo.registry.example")
    page.goto(f"{live_server}/staff/mediators")
    page.get_by_label("Status").select_option("struck")
    page.get_by_role("button", name="Find").click()
    page.locator("main table a").first.click()
    struck = "/mediators/" + page.url.rstrip("/").rsplit("/", 1)[1]
    context.close()

    # A complaint to track, filed anonymously.
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/complaints/new")
    page.get_by_label("The registry itself").check()
    page.get_by_label("Your complaint", exact=True).fill("The letter went to my old address.")
    page.get_by_label("No: file anonymously").check()
    page.get_by_role("button", name="File the complaint").click()
    code = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()
    page.goto(f"{live_server}/complaints/track")
    page.get_by_label("Receipt code").fill(code)
    page.get_by_label("Secret").fill(secret)
    page.get_by_role("button", name="Open my complaint").click()
    expect(page.get_by_role("heading", name=f"Your complaint {code}")).to_be_visible()
    tracking = page.url.removeprefix(live_server)
    complainant = context.storage_state()
    context.close()

    # A party's feedback link, asked for by a mediator.
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, "mediator001@demo.registry.example")
    mediator = context.storage_state()
    page.goto(f"{live_server}/my/feedback")
    page.locator("input[name=month]").fill("2026-10")
    page.locator("select[name=kind]").select_option(index=1)
    page.locator("textarea[name=emails]").fill("party.one@example.org")
    page.locator("form[action$='/my/feedback/requests'] [type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    context.close()
    with sqlite3.connect(live_server.directory / "r.sqlite3") as connection:
        bodies = connection.execute("SELECT body_text FROM mail_outbox ORDER BY id DESC").fetchall()
    link = next(m.group(0) for (body,) in bodies if (m := FEEDBACK_LINK.search(body)))
    questionnaire = "/feedback/" + link.rsplit("/feedback/", 1)[1]

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, "organisation@demo.registry.example")
    organisation_admin = context.storage_state()
    context.close()

    anonymous = None
    return {
        "home": ("/", anonymous),
        "find": ("/mediators?q=m", anonymous),
        "profile-certified": (profile, anonymous),
        "profile-struck": (struck, anonymous),
        "verify-valid": (f"/verify?number={number}", anonymous),
        "verify-invalid": ("/verify?number=MR-1999-0001", anonymous),
        "organisations": ("/organisations", anonymous),
        "organisation": (organisation, anonymous),
        "complaint-new": ("/complaints/new", anonymous),
        "complaint-track": ("/complaints/track", anonymous),
        "complaint-tracking": (tracking, complainant),
        "feedback-questionnaire": (questionnaire, anonymous),
        "login": ("/login", anonymous),
        "register": ("/register", anonymous),
        "my-certification": ("/my/certification", mediator),
        "my-feedback": ("/my/feedback", mediator),
        "organisation-dashboard": ("/organisation", organisation_admin),
        # Standards: long rule codes, the rule-by-rule changes and the list stack on phones.
        "standards": ("/standards", anonymous),
        "standard-version": ("/standards/QAP/2", anonymous),
        "consultation": ("/standards/ODRETHICS/1/consultations/1", anonymous),
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_violations(browser, live_server, places, language, width):  # noqa: F811
    RESULTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    found = {}
    for name, (path, state) in places.items():
        context = browser.new_context(
            viewport=WIDTHS[width], is_mobile=width == "phone", storage_state=state
        )
        page = context.new_page()
        response = page.goto(f"{live_server}/{language}{path}")
        expected = 404 if name == "verify-invalid" else 200
        assert response and response.status == expected, f"{name}: {response and response.status}"
        assert page.evaluate("document.documentElement.lang") == language
        if width == "phone":
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= WIDTHS[width]["width"], f"{name} scrolls sideways ({scroll}px)"
        results = axe.run(page)
        (RESULTS / f"{language}-{width}-{name}.json").write_text(
            json.dumps(results.response["violations"], indent=1)
        )
        if results.violations_count:
            found[name] = [
                (v["id"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]
            ]
            shot(page, f"axe-{language}-{width}-{name}")
        context.close()
    assert not found, f"axe-core violations ({language}, {width}): {found}"


def test_keyboard_alone_reaches_the_content_and_never_gets_stuck(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport=WIDTHS["desktop"])
    page = context.new_page()
    page.goto(f"{live_server}/de/complaints/new")
    page.keyboard.press("Tab")
    skip = page.evaluate("document.activeElement.getAttribute('href')")
    assert skip == "#main", "the first Tab reaches the skip link"
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; })()"
    )
    assert outline, "the focused skip link is visibly marked"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    # Focus moves on through the form and wraps to the browser, never stuck on one element.
    assert len(set(seen)) > 20, seen[-5:]
    context.close()


def test_form_errors_are_announced_and_tied_to_their_fields(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport=WIDTHS["phone"], is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/de/register")
    page.locator("input[name=name]").fill("Zoë Müller")
    page.locator("input[name=email]").fill("zoe@example")
    page.locator("form [type=submit]").last.click()
    invalid = page.locator("[aria-invalid=true]").first
    expect(invalid).to_be_visible()
    described = invalid.get_attribute("aria-describedby") or ""
    error = page.locator(f"#{described.split()[-1]}")
    expect(error).to_be_visible()
    assert error.inner_text().strip(), "the error says what is wrong"
    assert page.evaluate("document.documentElement.lang") == "de"
    shot(page, "register-error-de-phone")
    context.close()


def french(message: str, **values: str) -> str:
    """The French of an interface message, as the site shows it."""
    text = Translations.load(str(TRANSLATIONS), ["fr"]).gettext(message)
    assert text != message, f"no French for {message!r}"
    return text % values if values else text


def test_readme_walk_throughs_in_french(browser, live_server):  # noqa: F811
    """Support records Marta's payment (a decimal comma) and she is certified again; the public
    finds and verifies a mediator; a stranger files a complaint and tracks it: all in French."""
    base = f"{live_server}/fr"
    page = browser.new_context(viewport=WIDTHS["desktop"]).new_page()
    page.goto(f"{base}/login")
    page.get_by_label(french("E-mail address")).fill("support@demo.registry.example")
    page.get_by_label(french("Password")).fill("registry-demo-2026")
    page.get_by_role("button", name=french("Sign in")).click()
    page.wait_for_url(lambda url: "/login" not in url)
    assert "/fr/" in page.url
    page.goto(f"{base}/staff/mediators")
    page.get_by_label(french("Status")).select_option("lapsed")
    page.get_by_role("button", name=french("Find"), exact=True).click()
    page.get_by_role("link", name="Marta Mediator").click()
    expect(page.get_by_text(french("Lapsed (grace period)")).first).to_be_visible()
    page.get_by_text(french("Record payment")).first.click()
    page.get_by_label(french("Amount received")).fill("250,00")
    page.get_by_role("button", name=french("Record payment")).click()
    heading = french("Record this payment for %(name)s?", name="Marta Mediator")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_text("250,00").first).to_be_visible()
    shot(page, "fr-payment-confirm")
    page.get_by_role("button", name=french("Yes, record the payment")).click()
    expect(page.locator(".standing .status-certified")).to_be_visible()
    shot(page, "fr-mediator-restored")
    page.context.clear_cookies()

    page.goto(base + "/")
    page.get_by_role("link", name=french("Find a mediator")).first.click()
    page.get_by_label(french("Name"), exact=True).fill("mull")
    page.get_by_role("button", name=french("Search")).click()
    page.locator(".result h2 a").first.click()
    verdict = page.locator(".verdict")
    assert french("Certified today") in verdict.inner_text()
    number = verdict.locator("strong").nth(1).inner_text()
    page.get_by_role("link", name=french("Verify"), exact=True).click()
    page.get_by_label(french("Certificate number")).fill(number)
    page.get_by_role("button", name=french("Verify")).click()
    assert french("Certified today") in page.locator(".verdict").inner_text()
    shot(page, "fr-verify-valid")

    page.goto(f"{base}/complaints/new")
    page.get_by_label(french("The registry itself")).check()
    page.get_by_label(french("Your complaint"), exact=True).fill(
        "Mon certificat a été envoyé deux fois à une ancienne adresse."
    )
    page.get_by_label(french("No: file anonymously")).check()
    page.get_by_role("button", name=french("File the complaint")).click()
    expect(page.get_by_role("heading", name=french("Your complaint is filed"))).to_be_visible()
    code = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()
    page.get_by_role("link", name=french("Track your complaint")).click()
    page.get_by_label(french("Receipt code")).fill(code)
    page.get_by_label(french("Secret")).fill(secret)
    page.get_by_role("button", name=french("Open my complaint")).click()
    tracked = french("Your complaint %(code)s", code=code)
    expect(page.get_by_role("heading", name=tracked)).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "fr"
    shot(page, "fr-complaint-tracking")
    page.context.close()
