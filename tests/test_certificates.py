"""The printable certificate: what the PDF says, its QR code, and who gets none."""

import io
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from registry.certificates import pdf as layout
from registry.certificates.pdf import certificate_pdf
from registry.clock import local_today
from registry.database import utcnow
from registry.formatting import format_day as long_date
from registry.mediators.models import CertificationType, Specialisation
from registry.mediators.services import grant_certification
from registry.search.verification import verify_mediator
from tests.conftest import IN_CI, post_form
from tests.factories import (
    PASSWORD,
    grant,
    make_mediator,
    make_user,
    pay,
    set_fees,
    specialise,
    staff_user,
)
from tests.search_register import ADVOCATE, build_register

PUBLIC_URL = "http://registry.test"  # tests.conftest.make_test_app
MM_PER_POINT = 25.4 / 72


@pytest.fixture
def register(ctx, session):
    return build_register(session)


@pytest.fixture
def dual(register, session):
    """Dana: Certified Mediator for 100 days and Certified Mediation Advocate for 50."""
    today = local_today()
    dana = make_mediator(session, name="Oğuz Müller-Dual")
    grant(session, dana, on=today - timedelta(days=100))
    grant_certification(
        session,
        dana,
        certification_type=CertificationType.ADVOCATE,
        granted_on=today - timedelta(days=50),
        today=today,
        now=utcnow(),
        actor=staff_user(session),
        check_prerequisites=False,
    )
    specialise(session, dana, "intercultural", on=today - timedelta(days=40))
    session.commit()
    return dana


def certificate_url(mediator, kind=None):
    url = f"/mediators/{mediator.public_id}/certificate.pdf"
    return f"{url}?type={kind}" if kind else url


def fetch_pdf(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return response.data


def pdf_text(data):
    """The text of the one page, with line breaks and runs of spaces made single spaces."""
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


def standing(session, mediator, kind):
    """The mediator's Verification for their certification of type ``kind`` today."""
    found = verify_mediator(session, mediator.public_id, local_today())
    return next(v for v in found.certifications if v.certification.certification_type == kind)


@pytest.fixture(scope="module")
def pdftoppm():
    found = shutil.which("pdftoppm")
    if found is None:
        if IN_CI:
            pytest.fail("pdftoppm is missing (CI=true: the certificate's QR code must be read)")
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    return found


def rendered_codes(pdftoppm, data, tmp_path):
    """Render the PDF's page as a printer would and return the QR codes read from it."""
    source = tmp_path / "certificate.pdf"
    source.write_bytes(data)
    subprocess.run(
        [pdftoppm, "-png", "-r", "150", "-singlefile", str(source), str(tmp_path / "page")],
        check=True,
    )
    with Image.open(tmp_path / "page.png") as page:
        return [(code.format, code.text) for code in zxingcpp.read_barcodes(page)]


@pytest.mark.parametrize(
    ("name", "specialisation"),
    [
        ("Łukasz Nowak", "Intercultural"),
        ("Nguyễn Văn An", None),
        ("Siobhán O'Connor", "Online Dispute Resolution"),
        ("Anna Müller", "Investor-State"),
    ],
)
def test_the_certificate_says_who_is_certified_as_what_until_when(
    client, session, register, name, specialisation
):
    mediator = register[name]
    found = standing(session, mediator, "mediator")
    certification = found.certification
    text = pdf_text(fetch_pdf(client, certificate_url(mediator)))
    assert name in text
    assert "Mediator Registry" in text
    assert "Certified Mediator" in text and "Advocate" not in text
    assert certification.certificate_number in text
    assert f"GRANTED ON {long_date(certification.granted_on)}" in text
    assert f"VALID UNTIL {long_date(found.outlook.valid_until)}" in text
    assert f"ISSUED ON {long_date(local_today())}" in text
    if specialisation:
        assert specialisation in text
        assert f"{specialisation} (granted {long_date(certification.granted_on)})" in text
    else:
        assert "specialisations" not in text
    assert f"{PUBLIC_URL}/verify?number={certification.certificate_number}" in text
    assert "Scan the code or visit the address below to see whether this certificate is valid" in (
        text
    )


def test_the_qr_code_opens_the_verify_page_for_today(client, session, register, pdftoppm, tmp_path):
    mediator = register["Łukasz Nowak"]
    number = mediator.current_certification.certificate_number
    codes = rendered_codes(pdftoppm, fetch_pdf(client, certificate_url(mediator)), tmp_path)
    assert codes == [(zxingcpp.BarcodeFormat.QRCode, f"{PUBLIC_URL}/verify?number={number}")]
    page = client.get(codes[0][1].removeprefix(PUBLIC_URL))
    assert page.status_code == 200
    assert "Certified today" in page.get_data(as_text=True)


def test_the_certificate_is_served_inline_and_never_cached(client, register):
    mediator = register["Eva Mueller"]
    number = mediator.current_certification.certificate_number
    response = client.get(certificate_url(mediator))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="certificate-{number}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    # Chrome's PDF viewer is stopped by object-src 'none' on the PDF itself.
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response.data.startswith(b"%PDF-")


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
def test_no_certificate_unless_certified_today(client, session, register, name, says):
    mediator = register[name]
    explanation = verify_mediator(session, mediator.public_id, local_today()).outlook.explanation
    certification = mediator.current_certification
    verify_link = (
        f"/verify?number={certification.certificate_number}" if certification else "/verify"
    )
    response = client.get(certificate_url(mediator))
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Not currently certified" in html and says in html
    assert explanation in html
    assert f'href="{verify_link}"' in html
    assert "Certified today" not in html
    assert '<meta name="robots" content="noindex">' in html
    assert "Download the certificate" not in client.get(f"/mediators/{mediator.public_id}").text


def test_a_dual_holder_gets_either_certificate(client, session, dual):
    mediator_cert = standing(session, dual, "mediator").certification
    advocate = standing(session, dual, "advocate")
    text = pdf_text(fetch_pdf(client, certificate_url(dual, "advocate")))
    assert "Certified Mediation Advocate" in text
    assert advocate.certification.certificate_number in text
    assert mediator_cert.certificate_number not in text
    assert long_date(advocate.certification.granted_on) in text
    assert "Intercultural" in text and "Oğuz Müller-Dual" in text
    for url in (certificate_url(dual), certificate_url(dual, "mediator")):
        text = pdf_text(fetch_pdf(client, url))
        assert "Certified Mediator" in text and mediator_cert.certificate_number in text
        assert advocate.certification.certificate_number not in text


def test_an_advocate_only_gets_the_advocate_certificate_by_default(client, register):
    advocate = register[ADVOCATE]
    text = pdf_text(fetch_pdf(client, certificate_url(advocate)))
    assert "Certified Mediation Advocate" in text
    assert advocate.current_certification.certificate_number in text
    assert client.get(certificate_url(advocate, "mediator")).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/mediators/MNOTAREALID/certificate.pdf",
        "/mediators/M%00/certificate.pdf",
        "/mediators/{anna}/certificate.pdf?type=bogus",
        "/mediators/{anna}/certificate.pdf?type=",
        "/mediators/{anna}/certificate.pdf?type=advocate",
    ],
)
def test_unknown_ids_and_types_are_not_found(client, register, url):
    response = client.get(url.format(anna=register["Anna Müller"].public_id))
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_the_profile_links_each_listed_certificate(client, dual):
    html = client.get(f"/mediators/{dual.public_id}").get_data(as_text=True)
    links = re.findall(r'href="([^"]+)">Download the certificate \(PDF\)', html)
    assert links == [
        certificate_url(dual, "mediator"),
        certificate_url(dual, "advocate"),
    ]


def test_a_certified_mediator_finds_their_certificate_on_their_page(app, client, session):
    with app.app_context():
        today = local_today()
        set_fees(session, years=range(today.year - 1, today.year + 2))
        user = make_user(session, email="lukasz@example.org", name="Łukasz Nowak")
        mediator = make_mediator(session, name="Łukasz Nowak", email=user.email, user=user)
        grant(session, mediator, on=today - timedelta(days=30), paid=False)
        session.commit()
    post_form(client, "/login", {"email": "lukasz@example.org", "password": PASSWORD})
    assert "Download your certificate" not in client.get("/my/certification").text
    with app.app_context():
        pay(session, mediator.current_certification, on=today)
        session.commit()
    html = client.get("/my/certification").get_data(as_text=True)
    assert f'href="{certificate_url(mediator, "mediator")}">Download your certificate (PDF)' in html


def test_a_long_name_and_many_specialisations_stay_in_their_place(session, ctx, pdftoppm, tmp_path):
    """Everything still fits on the page: the body shrinks, the details and QR code stay put."""
    today = local_today()
    set_fees(session, years=range(today.year - 1, today.year + 2))
    name = "Maria-Theresia Siobhán O'Connor-Wolkenstein de la Fuente y Montenegro Łukasiewicz"
    mediator = make_mediator(session, name=name)
    grant(session, mediator, on=today - timedelta(days=30))
    names = [f"Specialisation {n} in cross-border family and workplace disputes" for n in range(9)]
    session.add_all(Specialisation(code=f"extra_{n}", name=names[n]) for n in range(9))
    session.flush()
    for n in range(9):
        specialise(session, mediator, f"extra_{n}", on=today - timedelta(days=20))
    found = verify_mediator(session, mediator.public_id, today)
    data = certificate_pdf(found, issued_on=today, verify_url=f"{PUBLIC_URL}/verify?number=X-1")
    text = pdf_text(data)
    assert name in text and found.certification.certificate_number in text
    assert all(each in text for each in names[:5])
    assert "more: see the verify page" in text or all(each in text for each in names)
    for fragment, top in text_positions(data):
        if "Specialisation" in fragment or "Wolkenstein" in fragment:
            assert layout.BODY_TOP <= top < layout.BODY_BOTTOM, (fragment, top)
    codes = rendered_codes(pdftoppm, data, tmp_path)
    assert codes == [(zxingcpp.BarcodeFormat.QRCode, f"{PUBLIC_URL}/verify?number=X-1")]


def text_positions(data):
    """Return each piece of text on the page with its baseline, in mm from the top."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    height = float(page.mediabox.height)
    found = []

    def visit(text, _cm, tm, _font, _size):
        if text.strip():
            found.append((text, (height - tm[5]) * MM_PER_POINT))

    page.extract_text(visitor_text=visit)
    return found
