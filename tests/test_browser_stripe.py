"""In headless Chromium: a lapsed demo mediator pays online, gets a receipt, and is refunded.

The site runs as in production (`mediator-registry serve`, demo data) with its Stripe SDK
pointed at the local fake (``tests.fake_stripe``); the webhook events Stripe would send are
posted to the site signed as Stripe signs them.
"""

import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests import fake_stripe
from tests.conftest import free_port
from tests.test_browser import ARTIFACTS, browser, shot, sign_in  # noqa: F401 (fixture)
from tests.test_packaging import wait_for

# Its own live server and browser, on one worker (beside the other browser module).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-stripe")]


@pytest.fixture(scope="module")
def fake():
    server = fake_stripe.FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, fake):
    """The site with demo data and online payment configured against the fake Stripe."""
    workdir = tmp_path_factory.mktemp("live-stripe")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"REGISTRY_ENV", "DATABASE_URL"}}
    env.update(
        REGISTRY_INSTANCE_PATH=str(workdir),
        DATABASE_URL=f"sqlite:///{workdir}/r.sqlite3",
        PUBLIC_URL=base,
        STRIPE_SECRET_KEY=fake_stripe.API_KEY,
        STRIPE_WEBHOOK_SECRET=fake_stripe.WEBHOOK_SECRET,
        STRIPE_API_BASE=fake.base,
        REGISTRY_ADDRESS="Laan van Meerdervoort 1; 2517 AA Den Haag; Netherlands",
    )
    command = [sys.executable, "-m", "registry.cli"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*command, "demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "1", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"{base}/healthz")
    yield base
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=40)


def send_event(base: str, event: dict) -> dict:
    """POST ``event`` to the site's Stripe webhook, signed as Stripe would."""
    body = json.dumps(event).encode()
    request = urllib.request.Request(  # noqa: S310 (a local URL)
        f"{base}/payments/stripe/webhook",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": fake_stripe.sign(body)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local URL)
        assert response.status == 200
        return json.load(response)


def api_status(base: str, number: str) -> str:
    with urllib.request.urlopen(f"{base}/api/v1/verify/{number}", timeout=10) as response:  # noqa: S310
        return json.load(response)["status"]


def public_status(tab, base: str, number: str) -> tuple[str, str]:
    """What Verify and the profile say about ``number``, as anyone sees them."""
    tab.goto(f"{base}/verify?number={number}")
    verify = tab.locator(".verdict").inner_text()
    tab.get_by_role("link", name=re.compile("profile")).click()
    return verify, tab.locator("main").inner_text()


def test_a_lapsed_mediator_pays_online_and_a_full_refund_lapses_them_again(
    browser,  # noqa: F811 (fixture)
    live_server,
    fake,
):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    mediator = context.new_page()
    sign_in(mediator, live_server, "mediator@demo.registry.example")
    mediator.goto(f"{live_server}/my/certification")
    number = mediator.locator(".standing strong").first.inner_text()
    assert re.fullmatch(r"MR-\d{4}-\d{6}", number)
    expect(mediator.locator(".standing .status-lapsed")).to_be_visible()
    assert api_status(live_server, number) == "lapsed"
    shot(mediator, "stripe-my-certification-lapsed")

    pay = mediator.get_by_role("button", name=re.compile("Pay now: EUR 250.00"))
    pay.click()
    mediator.wait_for_url(re.compile(rf"{re.escape(fake.base)}/pay/cs_test_\w+"))
    expect(mediator.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    expect(mediator.locator("#amount")).to_have_text("250.00 EUR")
    session_id = mediator.url.rsplit("/", 1)[1]
    checkout = fake.sessions[session_id]
    invoice = checkout["client_reference_id"]
    assert checkout["customer_email"] == "mediator@demo.registry.example"

    answer = send_event(
        live_server,
        fake_stripe.event("checkout.session.completed", fake.paid(session_id, "pi_demo_marta")),
    )
    assert answer["status"] == "recorded", answer
    mediator.goto(checkout["success_url"])
    expect(mediator.get_by_text("Thank you. Stripe has your payment")).to_be_visible()
    expect(mediator.locator(".standing .status-certified")).to_be_visible()
    shot(mediator, "stripe-my-certification-paid")

    public_context = browser.new_context()
    anyone = public_context.new_page()
    verify, profile = public_status(anyone, live_server, number)
    assert "Certified today" in verify and "Marta Mediator" in verify
    assert "Not currently certified" not in profile and "Certified" in profile
    assert api_status(live_server, number) == "certified"

    with mediator.expect_download() as download:
        mediator.get_by_role("link", name=re.compile(r"Receipt RCT-\d{7} \(PDF\)")).first.click()
    receipt = download.value.path().read_bytes()
    (ARTIFACTS / "stripe-receipt.pdf").write_bytes(receipt)  # for a human to look at
    pdf = PdfReader(io.BytesIO(receipt))
    text = pdf.pages[0].extract_text()
    for expected in (
        "Laan van Meerdervoort 1",
        "RECEIVED FROM Marta Mediator <mediator@demo.registry.example>",
        f"FOR Listing contribution, invoice {invoice}",
        "CONTRIBUTION EUR 250.00",
        "pi_demo_marta EUR 250.00",
        "Total received EUR 250.00",
    ):
        assert expected in text, expected

    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_context.new_page()
    sign_in(staff, live_server, "support@demo.registry.example")
    staff.goto(f"{live_server}/staff/mediators?q=Marta+Mediator")
    staff.get_by_role("link", name="Marta Mediator").click()
    staff.get_by_role("link", name=invoice).click()
    expect(staff.get_by_role("link", name="pi_demo_marta")).to_have_attribute(
        "href", "https://dashboard.stripe.com/test/payments/pi_demo_marta"
    )
    staff.get_by_text("Refund", exact=True).click()
    staff.get_by_label("Reason").fill("Paid twice: the bank transfer arrived too.")
    staff.get_by_role("button", name="Refund through Stripe").click()
    staff.get_by_role("button", name="Yes, refund through Stripe").click()
    expect(staff.get_by_text("Stripe was asked to refund EUR 250.00")).to_be_visible()
    expect(staff.get_by_text("awaiting Stripe's confirmation")).to_be_visible()
    ((refund_id, refund),) = fake.refunds.items()
    assert (refund["payment_intent"], refund["amount"]) == ("pi_demo_marta", 25000)
    assert api_status(live_server, number) == "certified"  # not counted until confirmed

    charge = fake_stripe.charge_refunded(
        "pi_demo_marta",
        amount=25000,
        refunded=25000,
        refunds=[{"id": refund_id, "amount": 25000, "status": "succeeded"}],
    )
    assert send_event(live_server, fake_stripe.event("charge.refunded", charge))["status"] == (
        "refunded"
    )
    staff.reload()
    expect(staff.get_by_text(re.compile(r"refunded \d{1,2} [A-Z][a-z]+ \d{4}"))).to_be_visible()
    shot(staff, "stripe-invoice-refunded")

    verify, profile = public_status(anyone, live_server, number)
    assert "Not currently certified" in verify or "Lapsed" in verify
    assert "Not currently certified" in profile
    assert api_status(live_server, number) == "lapsed"
    mediator.reload()
    expect(mediator.locator(".standing .status-lapsed")).to_be_visible()
    for each in (context, staff_context, public_context):
        each.close()
