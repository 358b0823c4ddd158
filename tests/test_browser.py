"""A person in headless Chromium: register, sign in as staff, read the event log and outbox.

Uses Debian's /usr/bin/chromium (never a downloaded browser). Screenshots go to
test-artifacts/ for a human to look at.
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import IN_CI, free_port
from tests.test_packaging import wait_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip

# One worker drives the browser against one live server for the whole module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (CI=true: browser tests are required)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class LiveServer(str):
    """The site's base URL, knowing the folder that holds its database and instance."""

    directory: Path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The site served by `mediator-registry serve` on a fresh SQLite database with demo data."""
    workdir = tmp_path_factory.mktemp("live")
    env = {k: v for k, v in os.environ.items() if k not in {"REGISTRY_ENV", "DATABASE_URL"}}
    env.update(REGISTRY_INSTANCE_PATH=str(workdir), DATABASE_URL=f"sqlite:///{workdir}/r.sqlite3")
    command = [sys.executable, "-m", "registry.cli"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*command, "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "1", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = LiveServer(f"http://127.0.0.1:{port}")
    base.directory = workdir
    wait_for(f"{base}/healthz")
    yield base
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=40)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_register_with_a_mistake_then_correctly(page, live_server):
    page.goto(f"{live_server}/register")
    page.get_by_label("Full name").fill("Zoë Müller")
    page.get_by_label("E-mail address").fill("zoe@example")
    page.get_by_role("button", name="Create account").click()
    # The refusal re-renders /register: wait for it rather than read the page being left.
    expect(page.get_by_text("Enter a valid e-mail address.")).to_be_visible()
    shot(page, "register-error")

    page.get_by_label("E-mail address").fill("zoe@example.org")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_server}/login")
    expect(
        page.get_by_text("Check your e-mail: we sent a message to zoe@example.org.")
    ).to_be_visible()
    shot(page, "registered")


def test_staff_sign_in_and_read_the_event_log_and_outbox(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("admin@demo.registry.example")
    page.get_by_label("Password").fill("registry-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/staff/mediators")  # an administrator's work

    page.get_by_role("link", name="Event log").click()
    expect(page.get_by_role("heading", name="Event log")).to_be_visible()
    page.get_by_label("Action").select_option("account.signed_in")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 entry")).to_be_visible()
    shot(page, "event-log")

    page.get_by_role("link", name="Outbox").click()
    expect(page.get_by_text("Mail is not sent in this environment")).to_be_visible()
    shot(page, "outbox")


def test_phone_layout_keeps_the_navigation_usable(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{live_server}/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Skip to content"
    shot(phone, "home-phone")
    context.close()


def test_the_language_switcher_fits_a_phone_and_a_desktop(browser, page, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{live_server}/fr/mediators")
    assert phone.evaluate("document.documentElement.lang") == "fr"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "scrolls sideways"
    switcher = phone.get_by_role("navigation", name="Langue").or_(
        phone.locator("nav.language-switcher")
    )
    expect(switcher.get_by_role("link", name="Deutsch")).to_be_visible()
    shot(phone, "language-switcher-phone")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip-link"
    context.close()
    page.goto(f"{live_server}/mediators")
    page.locator("nav.language-switcher").get_by_role("link", name="Español").click()
    page.wait_for_url(f"{live_server}/es/mediators")
    assert page.evaluate("document.documentElement.lang") == "es"
    current = page.locator('nav.language-switcher a[aria-current="true"]')
    expect(current).to_have_text("Español")
    shot(page, "language-switcher-desktop")


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("registry-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)  # each role lands on its own work


def test_support_records_a_payment_and_a_lapsed_mediator_is_certified_again(page, live_server):
    sign_in(page, live_server, "support@demo.registry.example")
    page.get_by_role("link", name="Mediators").click()
    page.get_by_label("Status").select_option("lapsed")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Marta Mediator").click()
    expect(page.get_by_text("Lapsed (grace period)").first).to_be_visible()
    shot(page, "mediator-lapsed")

    page.get_by_text("Record payment").first.click()
    page.get_by_label("Amount received").fill("-250")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("The amount cannot be negative.")).to_be_visible()

    page.get_by_text("Record payment").first.click()
    page.get_by_label("Amount received").fill("250.00")
    page.get_by_role("button", name="Record payment").click()
    expect(
        page.get_by_role("heading", name="Record this payment for Marta Mediator?")
    ).to_be_visible()
    expect(page.get_by_text("record EUR 250.00 received on")).to_be_visible()
    shot(page, "payment-confirm")
    page.get_by_role("button", name="Yes, record the payment").click()
    expect(page.get_by_text("EUR 250.00 recorded on")).to_be_visible()
    expect(page.locator(".standing .status-certified")).to_be_visible()
    shot(page, "mediator-restored")


def test_a_mediator_sees_status_and_checklist(page, live_server):
    sign_in(page, live_server, "mediator001@demo.registry.example")
    page.get_by_role("link", name="My certification").click()
    expect(page.get_by_role("heading", name="Status today")).to_be_visible()
    expect(page.get_by_role("heading", name="Towards certification")).to_be_visible()
    shot(page, "my-certification")


def test_the_public_finds_a_mediator_and_verifies_the_certificate(page, live_server):
    page.goto(live_server)
    page.get_by_role("link", name="Find a mediator").first.click()
    page.get_by_label("Name").fill("mull")
    page.get_by_role("button", name="Search").click()
    assert "certified mediators match" in page.locator(".count").inner_text()
    first = page.locator(".result h2 a").first
    name = first.inner_text()
    assert "ller" in name  # Müller or Mueller, found by "mull"
    shot(page, "search-results")
    first.click()
    verdict = page.locator(".verdict")
    assert "Certified today" in verdict.inner_text()
    number = verdict.locator("strong").nth(1).inner_text()
    shot(page, "search-profile")

    page.get_by_role("link", name="Verify", exact=True).click()
    page.get_by_label("Certificate number").fill(f" {number.lower()} ")
    page.get_by_role("button", name="Verify").click()
    assert "Certified today" in page.locator(".verdict").inner_text()
    assert name in page.locator(".verdict").inner_text()
    shot(page, "verify-valid")

    page.get_by_label("Certificate number").fill("MR-1999-0001")
    page.get_by_role("button", name="Verify").click()
    assert "There is no certificate with the number MR-1999-000001." in page.content()

    page.goto(f"{live_server}/mediators?q=nobody+called+this")
    assert "No certified mediator matches this search." in page.content()


def test_an_organisation_admin_reads_the_dashboard(browser, page, live_server):
    sign_in(page, live_server, "admin@demo.registry.example")
    page.goto(f"{live_server}/staff/organisations")
    page.get_by_role("link", name="Amsterdam Mediation Academy").click()
    admins = page.get_by_role("region", name="Administrators")
    expect(admins.get_by_text("organisation@demo.registry.example")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "organisation@demo.registry.example")
    page.goto(f"{live_server}/organisation")
    expect(page.get_by_role("heading", name="Amsterdam Mediation Academy")).to_be_visible()
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
    shot(page, "organisation-dashboard")
    buckets = page.get_by_role("navigation", name="Buckets")
    buckets.get_by_role("link", name="Nearing certification").click()
    expect(page.locator(".count")).to_contain_text("nearing certification")
    expect(page.locator(".missing-steps").first).to_be_visible()
    page.get_by_role("button", name="Send reminder").first.click()
    expect(page.get_by_text("A reminder is on its way to")).to_be_visible()
    assert "bucket=nearing_certification" in page.url

    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        storage_state=page.context.storage_state(),
    )
    small = phone.new_page()
    small.goto(page.url)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "organisation-dashboard-phone")
    phone.close()


def test_an_audit_from_declaration_to_sign_off_and_the_next_due_date(
    browser, page, live_server, tmp_path
):
    """The README's demo walk-through: the Amsterdam Mediation Academy's QAP audit.

    Each person has a browser of their own, signed in once (sign-ins are rate limited).
    """
    import re
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from audits.schedule import due_date
    from tests.first_standards import first_criteria

    qap = "Amsterdam Mediation Academy: Qualifying Assessment Program (NL) (QAP)"
    summary = "Sound, independent assessments; report the results to the registry sooner."
    # The server's "today" is a day in the registry's time zone, as is the next due date.
    zone = ZoneInfo(os.environ.get("REGISTRY_TIMEZONE", "Europe/Amsterdam"))
    next_due = due_date(datetime.now(zone).date())
    next_due_text = f"{next_due.day} {next_due:%B %Y}"

    def person(email: str):
        signed_in = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(signed_in, live_server, email)
        return signed_in

    def menu(on, name: str) -> None:
        on.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()

    def flash(on, text: str):
        return expect(on.locator(".flash").filter(has_text=text))

    aino = page
    sign_in(aino, live_server, "appraiser@demo.registry.example")
    chen = person("chair@demo.registry.example")
    olga = person("organisation@demo.registry.example")

    # 1. The appraiser declares: a declaration with nothing ticked is refused.
    menu(aino, "My audits")
    row = aino.get_by_role("row").filter(has_text="Qualifying Assessment Program (NL)")
    expect(row.get_by_text("Declaration needed")).to_be_visible()
    shot(aino, "audit-appraiser-home")
    row.get_by_role("link", name=f"Declare for {qap}").click()
    expect(aino.get_by_role("heading", name="Your declaration")).to_be_visible()
    shot(aino, "audit-declaration")
    aino.get_by_role("button", name="Send declaration").click()
    flash(aino, "Declare either that you have no conflict of interest").to_be_visible()
    aino.get_by_label("I declare that I have no conflict of interest").check()
    aino.get_by_role("button", name="Send declaration").click()
    flash(aino, "you declared no conflict of interest").to_be_visible()

    # 2. The chair assigns her.
    menu(chen, "Appraisal committee")
    waiting = chen.get_by_role("region", name="Waiting for appraisers")
    waiting.get_by_role("link", name=qap, exact=True).click()
    chen.get_by_role("link", name="Appraisers and conflict declarations").click()
    chen.get_by_label("Appraiser", exact=True).select_option(
        label="Aino Appraiser (appraiser@demo.registry.example)"
    )
    shot(chen, "audit-chair-appraisers")
    chen.get_by_role("button", name="Assign").click()
    flash(chen, "Aino Appraiser is assigned and told by e-mail.").to_be_visible()
    expect(chen.get_by_role("heading", name="Appraisers (1 of 1)")).to_be_visible()

    # 3. The appraiser asks the organisation for documents (the due date is filled in).
    menu(aino, "My audits")
    assigned = aino.get_by_role("region", name="Assigned to you")
    assigned.get_by_role("link", name=qap, exact=True).click()
    audit_url = aino.url
    aino.get_by_role("link", name="Document requests and spot checks").click()
    expect(aino.get_by_label("Due date")).not_to_have_value("")
    aino.get_by_label("Title").fill("Assessment records 2025")
    aino.get_by_label("What the organisation should send").fill(
        "The assessment handbook and the assessors' reports of 2025."
    )
    aino.get_by_role("button", name="Send the request").click()
    flash(aino, "Assessment records 2025").to_be_visible()

    # 4. The organisation uploads a PDF; a program and a text file with NUL bytes are refused.
    olga.goto(f"{live_server}/organisation")
    olga.get_by_role("link", name="Programs and audits").click()
    expect(olga.get_by_role("heading", name="Program audits")).to_be_visible()
    programs_url = olga.url
    row = olga.get_by_role("row").filter(has_text="Qualifying Assessment Program (NL)")
    program_link = row.get_by_role("link", name="Qualifying Assessment Program (NL)")
    program_url = program_link.get_attribute("href")
    row.get_by_role("link", name="1 open request").click()
    request = olga.get_by_role("article", name="Assessment records 2025")
    files = {
        "records.pdf": b"%PDF-1.4\n%%EOF\n",
        "setup.exe": b"MZ\x90\x00",
        "notes.txt": b"plain\x00text\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    request.get_by_label("Add a file").set_input_files(tmp_path / "records.pdf")
    request.get_by_role("button", name="Upload").click()
    flash(olga, "“records.pdf” is uploaded").to_be_visible()
    request.get_by_label("Add a file").set_input_files(tmp_path / "setup.exe")
    request.get_by_role("button", name="Upload").click()
    flash(olga, "“setup.exe” is not a kind of file accepted here").to_be_visible()
    request.get_by_label("Add a file").set_input_files(tmp_path / "notes.txt")
    request.get_by_role("button", name="Upload").click()
    flash(olga, "The content of “notes.txt” does not match its type").to_be_visible()
    expect(request.get_by_role("listitem")).to_have_count(1)  # only records.pdf is kept
    shot(olga, "audit-requests-organisation")
    request.get_by_role("button", name="Mark as answered").click()
    flash(olga, "is marked as answered").to_be_visible()
    expect(request.get_by_role("heading", level=3)).to_contain_text("Answered")

    # 5. The appraiser files the report: a deviation that cites no rule is refused.
    aino.goto(audit_url)
    aino.get_by_role("link", name="The report").click()
    report_url = aino.url
    # The criteria of the QAP version in force when the audit opened (the demo published v2).
    findings = aino.get_by_role("group", name=re.compile(r"^QAP-\d+: ")).all()
    assert len(findings) >= len(first_criteria("QAP"))
    for finding in findings:
        finding.get_by_label("Rating").select_option(label="Met")
        finding.get_by_label("Evidence").fill("Read the handbook and five assessment files.")
    aino.get_by_label("Strengths").fill("Independent assessors; complete files.")
    aino.get_by_label("Weaknesses").fill("Results reach the registry late.")
    aino.get_by_label("Renew", exact=True).check()
    aino.get_by_label("Summary for the organisation").fill(summary)
    deviation = aino.get_by_role("group", name="Deviation 1", exact=True)
    deviation.get_by_label("What deviates from the rule").fill("One file lacked a signature.")
    shot(aino, "audit-report-form")
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        storage_state=aino.context.storage_state(),
    )
    small = phone.new_page()
    small.goto(report_url)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "audit-report-form-phone")
    phone.close()
    aino.get_by_role("button", name="Submit to the chair").click()
    flash(aino, "Check the form: each problem is marked below.").to_be_visible()
    deviation = aino.get_by_role("group", name="Deviation 1", exact=True)
    expect(deviation.get_by_text("Choose the rule this deviation breaks.")).to_be_visible()
    shot(aino, "audit-report-refused")
    deviation.get_by_label("What deviates from the rule").fill("")
    aino.get_by_role("button", name="Submit to the chair").click()
    flash(aino, "The report is submitted; the chair is told by e-mail.").to_be_visible()

    # 6. The chair signs off; the next audit is due two years on, at a half-year's end.
    menu(chen, "Appraisal committee")
    chen.get_by_role("link", name=f"Read the report and sign off for {qap}").click()
    chen.get_by_role("button", name="Sign off: Renew").click()
    chen.get_by_role("button", name="Yes, sign off").click()
    flash(chen, "The audit is signed off: Renew.").to_contain_text(
        f"The next audit is due on {next_due_text}."
    )
    expect(chen.get_by_text("Outcome: Renew.")).to_be_visible()
    shot(chen, "audit-signed-off")
    chen.goto(audit_url)
    expect(chen.locator(".page-head")).to_contain_text("Completed")

    # 7. The organisation reads the outcome and summary; the public sees the next due date.
    olga.goto(programs_url)
    done = olga.get_by_role("region", name="Completed audits").get_by_role("article")
    done = done.filter(has_text=summary)
    expect(done).to_contain_text("Qualifying Assessment Program (NL) (QAP): Renew")
    row = olga.get_by_role("row").filter(has_text="Qualifying Assessment Program (NL)")
    expect(row).to_contain_text("Recognised")
    expect(row).to_contain_text(next_due_text)
    shot(olga, "audit-organisation")
    for signed_in in (chen, olga):
        signed_in.context.close()

    aino.get_by_role("button", name="Sign out").click()
    aino.goto(f"{live_server}{program_url}")
    expect(aino.locator(".page-head").get_by_text("Recognised", exact=True)).to_be_visible()
    recognition = aino.get_by_role("region", name="Recognition and audits")
    expect(recognition).to_contain_text(re.compile(rf"Next audit due\s*{next_due_text}"))
    shot(aino, "audit-public-program")


def test_an_anonymous_complaint_about_the_registry_filed_and_tracked(browser, page, live_server):
    """File anonymously, keep the receipt, track the complaint and reply, as a stranger."""
    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = phone_context.new_page()
    phone.goto(f"{live_server}/complaints/new")
    phone.get_by_label("A certified mediator or mediation advocate").check()
    expect(phone.get_by_label("The mediator's certificate number or profile id")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "scrolls sideways"
    shot(phone, "complaint-form-phone")
    phone_context.close()

    page.goto(f"{live_server}/complaints/new")
    expect(page.get_by_text("no network (IP) address")).to_be_visible()
    page.get_by_label("The registry itself").check()
    page.get_by_label("Your complaint", exact=True).fill(
        "My certificate was sent to an old address twice although I had updated it."
    )
    page.get_by_label("No: file anonymously").check()
    expect(page.get_by_label("Your name")).to_be_hidden()
    page.get_by_role("button", name="File the complaint").click()
    expect(page.get_by_role("heading", name="Your complaint is filed")).to_be_visible()
    code = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()
    assert code.startswith("C") and len(secret) == 23
    expect(page.get_by_text("You filed anonymously")).to_be_visible()
    shot(page, "complaint-receipt")

    page.get_by_role("link", name="Track your complaint").click()
    page.get_by_label("Receipt code").fill(code.lower())
    page.get_by_label("Secret").fill(secret)
    page.get_by_role("button", name="Open my complaint").click()
    expect(page.get_by_role("heading", name=f"Your complaint {code}")).to_be_visible()
    page.get_by_label("Your reply").fill("The second letter arrived on 3 May.")
    page.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": "envelope.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n"}]
    )
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_text("Your reply is added to the complaint.")).to_be_visible()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("The second letter arrived on 3 May.")
    expect(timeline).to_contain_text("envelope.pdf")
    shot(page, "complaint-tracking")

    page.get_by_role("button", name="Forget this complaint on this device").click()
    expect(page.get_by_text("This browser no longer shows your complaint.")).to_be_visible()
