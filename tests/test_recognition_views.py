"""Program recognition pages: who may open each, applying through the form, confidentiality,
and programs applied for kept out of every public page."""

import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audits.committee.services import assign_appraiser
from audits.models import Audit, AuditDocument, DocumentRequest
from recognition.models import ProgramApplication
from recognition.services import decide_application
from registry.accounts.models import Role, User
from registry.database import utcnow
from registry.organisations.models import Program
from tests.audit_factories import make_appraiser, make_chair, make_organisation_admin
from tests.conftest import form_tokens, one_time_token, post_form
from tests.factories import PASSWORD, make_organisation, make_user, staff_user
from tests.recognition_factories import PDF, apply, appraise, declare_none

CHAIR = "chair@example.org"
APPRAISER = "appraiser@example.org"
POOL = "pool@example.org"
ADMIN = "admin@academy.example"
OTHER_ADMIN = "admin@elsewhere.example"
STAFF = "staff@example.org"
MEDIATOR = "mediator@example.org"
OTHER_CHAIR = "cmtp-chair@example.org"


@pytest.fixture(autouse=True)
def files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_FILES_DIR", str(tmp_path / "audit-files"))


@pytest.fixture
def world(ctx, session):
    """A QAP application under appraisal (one appraiser assigned) and everyone around it."""
    organisation = make_organisation(session, name="Mediation Academy")
    admin = make_organisation_admin(session, organisation, email=ADMIN)
    other = make_organisation(session, name="Elsewhere Institute")
    make_organisation_admin(session, other, email=OTHER_ADMIN)
    chair = make_chair(session, "QAP", email=CHAIR)
    appraiser = make_appraiser(session, "QAP", email=APPRAISER)
    make_appraiser(session, "QAP", email=POOL, name="Pat Pool")
    make_chair(session, "CMTP", email=OTHER_CHAIR)
    staff_user(session)
    make_user(session, email=MEDIATOR, roles=[Role.MEDIATOR])
    application = apply(session, organisation, admin, name="Hidden Assessment Days")
    return {
        "organisation": organisation,
        "other": other,
        "application": application,
        "chair": chair,
        "appraiser": appraiser,
        "admin": admin,
    }


def sign_in(client, email):
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303


# -- Role by route ---------------------------------------------------------------------------

# Who gets what on each page of one application: 200 (or a redirect), 404 (no standing on
# the application, so its existence is not told), 403 (the wrong role altogether).
PAGES = {
    "list": {
        CHAIR: 200,
        APPRAISER: 200,
        POOL: 200,
        ADMIN: 200,
        OTHER_ADMIN: 200,
        STAFF: 200,
        OTHER_CHAIR: 200,
        MEDIATOR: 403,
    },
    "application": {
        CHAIR: 200,
        APPRAISER: 200,
        POOL: 200,
        ADMIN: 200,
        OTHER_ADMIN: 404,
        STAFF: 200,
        OTHER_CHAIR: 404,
        MEDIATOR: 403,
    },
    "for_audit": {
        CHAIR: 302,
        APPRAISER: 302,
        POOL: 302,
        ADMIN: 302,
        OTHER_ADMIN: 404,
        STAFF: 302,
        OTHER_CHAIR: 404,
        MEDIATOR: 403,
    },
    "new": {
        CHAIR: 403,
        APPRAISER: 403,
        POOL: 403,
        ADMIN: 200,
        OTHER_ADMIN: 404,
        STAFF: 403,
        OTHER_CHAIR: 403,
        MEDIATOR: 403,
    },
    "resubmit": {
        CHAIR: 403,
        APPRAISER: 403,
        POOL: 403,
        ADMIN: 303,
        OTHER_ADMIN: 404,
        STAFF: 403,
        OTHER_CHAIR: 403,
        MEDIATOR: 403,
    },
}


def url_of(page, world):
    application = world["application"]
    return {
        "list": "/recognition/applications",
        "application": f"/recognition/applications/{application.id}",
        "for_audit": f"/recognition/appraisals/{application.audit_id}",
        "new": f"/organisation/{world['organisation'].id}/applications/new",
        # Not declined: the organisation's administrator is sent back to the application.
        "resubmit": f"/recognition/applications/{application.id}/resubmit",
    }[page]


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize(
    "email", [CHAIR, APPRAISER, POOL, ADMIN, OTHER_ADMIN, STAFF, OTHER_CHAIR, MEDIATOR]
)
def test_each_page_lets_in_only_those_concerned(client, session, world, page, email):
    if email == APPRAISER:  # assigned
        declare_none(session, world["application"], world["appraiser"])
        assign_appraiser(
            session,
            world["application"].audit,
            world["appraiser"],
            now=utcnow(),
            actor=world["chair"],
        )
    sign_in(client, email)
    assert client.get(url_of(page, world)).status_code == PAGES[page][email]


@pytest.mark.parametrize("page", list(PAGES))
def test_strangers_are_sent_to_sign_in(client, world, page):
    response = client.get(url_of(page, world))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("email", "status"),
    [
        (CHAIR, 303),
        (APPRAISER, 403),
        (ADMIN, 403),
        (STAFF, 403),
        (OTHER_CHAIR, 404),
        (MEDIATOR, 403),
    ],
)
def test_only_the_chair_posts_a_decision(client, session, world, email, status):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"])
    sign_in(client, email)
    response = client.post(
        f"/recognition/applications/{application.id}/decision",
        data={
            **form_tokens(client, "/recognition/applications"),
            "submission_token": one_time_token(client.application),
            "decision": "recognise",
            "reasons": "Meets every criterion.",
        },
    )
    assert response.status_code == status
    session.expire_all()
    assert (application.decision == "recognise") == (status == 303)


# -- Applying and deciding through the pages ------------------------------------------------


def application_form(**changes):
    data = {
        "program_type": "QAP",
        "name": "Online Assessment",
        "description": "Assessed role-plays online.",
        "locations-0-country": "KE",
        "locations-0-city": "Nairobi",
        "document_program": (io.BytesIO(PDF), "program.pdf"),
        "document_people": (io.BytesIO(PDF), "people.pdf"),
        "document_policies": (io.BytesIO(PDF), "policies.pdf"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_an_administrator_applies_through_the_form(client, session, world):
    other_admin_org = world["other"]
    sign_in(client, OTHER_ADMIN)
    url = f"/organisation/{other_admin_org.id}/applications/new"
    response = post_form(client, url, application_form())
    assert response.status_code == 303
    application = session.scalars(
        select(ProgramApplication).where(ProgramApplication.organisation_id == other_admin_org.id)
    ).one()
    assert response.headers["Location"] == f"/recognition/applications/{application.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Online Assessment" in page and "Submitted: appraisers being assigned" in page
    assert "policies.pdf" in page  # the organisation sees the names of its own files
    dashboard = client.get(f"/organisation/{other_admin_org.id}/dashboard").get_data(as_text=True)
    assert "Applications for recognition" in dashboard and "Online Assessment" in dashboard


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Give the program&#39;s name."),
        ({"locations-0-country": "", "locations-0-city": ""}, "Give at least one country"),
        ({"locations-0-country": ""}, "Choose the country of each location"),
        ({"document_people": None}, "missing: Trainers or assessors"),
        ({"program_type": "CMTP", "name": "Fine"}, None),
    ],
)
def test_bad_applications_change_nothing(client, session, world, changes, message):
    other = world["other"]
    other.account_type = "qap2"  # assesses only: a CMTP is refused
    session.flush()
    sign_in(client, OTHER_ADMIN)
    before = session.scalar(select(func.count()).select_from(Program))
    response = post_form(
        client, f"/organisation/{other.id}/applications/new", application_form(**changes)
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert (message or "not for CMTP programs") in text
    assert session.scalar(select(func.count()).select_from(Program)) == before


def counts(session):
    return [
        session.scalar(select(func.count()).select_from(model))
        for model in (Program, Audit, ProgramApplication, DocumentRequest, AuditDocument)
    ]


def stored_files(app):
    folder = Path(app.config["AUDIT_FILES_DIR"])
    return sorted(folder.rglob("*")) if folder.exists() else []


def fake_pdf():
    return (io.BytesIO(b"just some text, not a PDF"), "fake.pdf")


@pytest.mark.parametrize("document", ["document_program", "document_policies"])
def test_a_refused_document_shows_on_its_field_and_keeps_nothing(
    app, client, session, world, document
):
    sign_in(client, OTHER_ADMIN)
    before, files_before = counts(session), stored_files(app)
    url = f"/organisation/{world['other'].id}/applications/new"
    response = post_form(client, url, application_form(**{document: fake_pdf()}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{document}-error">([^<]*)</p>', page)
    assert error and "fake.pdf" in error.group(1) and "does not match its type" in error.group(1)
    assert counts(session) == before
    assert stored_files(app) == files_before  # the files stored before the refusal are gone


def test_a_refused_document_in_a_resubmission_keeps_nothing(app, client, session, world):
    application = decline(session, world)
    sign_in(client, ADMIN)
    before, files_before = counts(session), stored_files(app)
    url = f"/recognition/applications/{application.id}/resubmit"
    response = post_form(client, url, application_form(document_people=fake_pdf()))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="document_people-error">[^<]*fake\.pdf', page)
    assert counts(session) == before
    assert stored_files(app) == files_before
    assert client.get(url).status_code == 200  # still open to resubmit


def test_the_chair_decides_and_the_organisation_resubmits(client, session, world):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"], recommendation="suspend")
    sign_in(client, CHAIR)
    url = f"/recognition/applications/{application.id}"
    assert "Your decision" in client.get(url).get_data(as_text=True)
    response = post_form(
        client,
        f"{url}/decision",
        {"decision": "decline", "reasons": "No appeal procedure."},
        form_url=url,
    )
    assert response.status_code == 303
    post_form(client, "/logout", {}, form_url="/account")
    sign_in(client, ADMIN)
    page = client.get(url).get_data(as_text=True)
    assert "Decision: Decline" in page and "No appeal procedure." in page
    form = client.get(f"{url}/resubmit").get_data(as_text=True)
    assert 'value="Hidden Assessment Days"' in form  # prefilled
    response = post_form(client, f"{url}/resubmit", application_form(name="Better Days"))
    assert response.status_code == 303
    again = session.scalars(
        select(ProgramApplication).where(ProgramApplication.resubmission_of_id == application.id)
    ).one()
    assert again.program.name == "Better Days"
    assert client.get(f"{url}/resubmit").status_code == 303  # once only


# -- Confidentiality and the public ---------------------------------------------------------


def status_of(client, url):
    response = client.get(url)
    response.close()
    return response.status_code


def document_urls(session, application):
    documents = session.scalars(select(AuditDocument)).all()
    return [f"/audits/{application.audit_id}/documents/{d.id}" for d in documents]


@pytest.mark.parametrize(
    ("email", "status"),
    [(APPRAISER, 200), (CHAIR, 200), (OTHER_ADMIN, 404), (POOL, 404), (STAFF, 404)],
)
def test_the_documents_are_confidential(client, session, world, email, status):
    application = world["application"]
    declare_none(session, application, world["appraiser"])
    assign_appraiser(
        session, application.audit, world["appraiser"], now=utcnow(), actor=world["chair"]
    )
    urls = document_urls(session, application)
    assert len(urls) == 3
    sign_in(client, email)
    assert {status_of(client, url) for url in urls} == {status}
    page = client.get(f"/recognition/applications/{application.id}")
    if page.status_code == 200:
        assert ("program.pdf" in page.get_data(as_text=True)) == (email in (APPRAISER, CHAIR))


def test_the_public_never_sees_a_program_applied_for(client, session, world):
    organisation = world["organisation"]
    for url in urls_of_public_pages(organisation):
        text = client.get(url).get_data(as_text=True)
        assert "Hidden Assessment Days" not in text, url
    # The directory's filters: no QAP, no Dutch location, for an organisation whose only
    # QAP program is applied for.
    directory = client.get("/organisations?program=QAP").get_data(as_text=True)
    assert "Mediation Academy" not in directory
    assert not re.search(r'<option value="BE"', client.get("/organisations").get_data(as_text=True))
    for url in document_urls(session, world["application"]):
        assert status_of(client, url) == 302  # sign in first
    assert client.get(f"/programs/{world['application'].program_id}").status_code == 404
    feedback_form = client.get("/open-feedback").get_data(as_text=True)
    assert "Hidden Assessment Days" not in feedback_form


def test_a_recognised_program_appears_with_its_date(client, session, world):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"])
    decide_application(
        session,
        application,
        decision="recognise",
        reasons="Fine.",
        today=date(2026, 5, 4),
        now=utcnow(),
        actor=world["chair"],
    )
    session.expire_all()
    page = client.get(f"/organisations/{world['organisation'].id}").get_data(as_text=True)
    assert "Hidden Assessment Days" in page and "recognised on 4 May 2026" in page
    directory = client.get("/organisations?program=QAP").get_data(as_text=True)
    assert "Mediation Academy" in directory
    assert client.get(f"/programs/{application.program_id}").status_code == 200
    assert "Hidden Assessment Days" in client.get("/open-feedback").get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "pages"),
    [
        (CHAIR, ["/committee/audits", "/audits/{audit}", "/audits/{audit}/appraisers",
                 "/audits/{audit}/report", "/audits/{audit}/requests"]),
        (APPRAISER, ["/appraiser", "/audits/{audit}", "/audits/{audit}/report"]),
        (STAFF, ["/staff/audits", "/audits/{audit}", "/staff/appraisal-committee"]),
        (ADMIN, ["/organisation/{organisation}/audits", "/audits/{audit}",
                 "/audits/{audit}/requests", "/organisation/{organisation}/dashboard"]),
    ],
)  # fmt: skip
def test_the_audit_pages_show_an_appraisal(client, session, world, email, pages):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"])
    sign_in(client, email)
    for page in pages:
        url = page.format(audit=application.audit_id, organisation=application.organisation_id)
        response = client.get(url)
        assert response.status_code == 200, url
    audit_page = client.get(f"/audits/{application.audit_id}").get_data(as_text=True)
    assert "Appraisal of the application for Hidden Assessment Days" in audit_page
    if email == CHAIR:
        report = client.get(f"/audits/{application.audit_id}/report").get_data(as_text=True)
        assert "Decide on the application" in report and "Sign off:" not in report


def urls_of_public_pages(organisation):
    return [
        "/organisations",
        f"/organisations/{organisation.id}",
        "/organisations?program=QAP",
        "/api/v1/mediators",
    ]


def test_the_report_and_appraisers_pages_name_an_appraisal(client, session, world):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"])
    sign_in(client, CHAIR)
    name = "Appraisal of the application for Hidden Assessment Days"
    audit = application.audit_id
    for url in (f"/audits/{audit}/report", f"/audits/{audit}/appraisers"):
        page = client.get(url).get_data(as_text=True)
        title = re.search(r"<title>([^<]*)</title>", page).group(1)
        assert name in title, url
        assert f'<a href="/audits/{audit}">{name}</a>' in page, url  # the breadcrumb
        assert "Audit of" not in page and "Audit report" not in page, url
    report = client.get(f"/audits/{audit}/report").get_data(as_text=True)
    assert re.search(r"<h1>The appraisers(&#39;|')report</h1>", report.replace("' ", "'"))


def test_the_chair_is_sent_to_decide_and_the_pages_say_decided(client, session, world):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"], recommendation="suspend")
    sign_in(client, CHAIR)
    home = client.get("/committee/audits").get_data(as_text=True)
    assert "Read the report and sign off" not in home
    link = f'href="/recognition/appraisals/{application.audit_id}">Decide on the application'
    assert link in home
    response = client.get(f"/recognition/appraisals/{application.audit_id}")
    url = f"/recognition/applications/{application.id}"
    assert response.headers["Location"] == url
    decision = {"decision": "decline", "reasons": "No appeal procedure."}
    assert post_form(client, f"{url}/decision", decision, form_url=url).status_code == 303
    for page_url in (f"/audits/{application.audit_id}", f"/audits/{application.audit_id}/report"):
        page = client.get(page_url).get_data(as_text=True)
        assert "Signed off" not in page, page_url
    report = client.get(f"/audits/{application.audit_id}/report").get_data(as_text=True)
    assert re.search(r"Decided on [^<]*\d{4} by Chris Chair\. Decision: Decline", report)
    audit_page = client.get(f"/audits/{application.audit_id}").get_data(as_text=True)
    assert re.search(r"<dt>Decision</dt><dd><time[^>]*>", audit_page)


def judged_against(page):
    line = re.search(r"<p>Judged against: (.*?)\.</p>", page, re.S)
    assert line, "no Judged against line"
    return re.findall(r'<a href="(/standards/[^"]+)">([^<]+)</a>', line.group(1))


def test_the_standards_are_listed_in_one_order_everywhere(client, session, world):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"])
    sign_in(client, CHAIR)
    on_application = judged_against(
        client.get(f"/recognition/applications/{application.id}").get_data(as_text=True)
    )
    on_report = judged_against(
        client.get(f"/audits/{application.audit_id}/report").get_data(as_text=True)
    )
    assert on_application == on_report
    assert on_application == [("/standards/QAP/1", "QAP v1"), ("/standards/GEN/1", "GEN v1")]


def test_no_form_is_offered_when_every_type_is_under_appraisal(client, session, world):
    other = world["other"]
    other.account_type = "qap1"  # trains only: CMTP is the one type it may apply for
    session.flush()
    sign_in(client, OTHER_ADMIN)
    url = f"/organisation/{other.id}/applications/new"
    assert 'name="program_type"' in client.get(url).get_data(as_text=True)
    admin = session.scalars(select(User).where(User.email == OTHER_ADMIN)).one()
    apply(session, other, admin, program_type="CMTP", name="Mediation Course")
    session.flush()
    page = client.get(url).get_data(as_text=True)
    assert "already has a CMTP application under appraisal" in page
    assert '<form method="post" enctype' not in page and 'name="program_type"' not in page
    dashboard = client.get(f"/organisation/{other.id}/dashboard").get_data(as_text=True)
    assert '<p class="actions"><a class="button button-small"' in dashboard


def decline(session, world):
    application = world["application"]
    appraise(session, application, world["appraiser"], world["chair"], recommendation="suspend")
    decide_application(
        session,
        application,
        decision="decline",
        reasons="No appeal procedure.",
        today=date.today(),
        now=utcnow(),
        actor=world["chair"],
    )
    session.flush()
    return application


def test_a_resubmission_keeps_its_program_type(client, session, world):
    application = decline(session, world)
    sign_in(client, ADMIN)
    url = f"/recognition/applications/{application.id}/resubmit"
    form = client.get(url).get_data(as_text=True)
    assert 'name="program_type"' not in form and "QAP: " in form
    response = post_form(client, url, application_form(program_type="MAQAP", name="Again"))
    assert response.status_code == 303
    again = session.scalars(
        select(ProgramApplication).where(ProgramApplication.resubmission_of_id == application.id)
    ).one()
    assert again.program.program_type == "QAP"


def test_no_resubmission_form_while_another_of_its_type_is_appraised(client, session, world):
    application = decline(session, world)
    apply(session, world["organisation"], world["admin"], name="Newer Assessment Days")
    session.flush()
    sign_in(client, ADMIN)
    page = client.get(f"/recognition/applications/{application.id}/resubmit").get_data(as_text=True)
    assert "already has a QAP application under appraisal" in page
    assert 'name="name"' not in page
