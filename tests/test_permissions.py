"""The single authorisation mechanism, checked for every role on every staff page."""

import pytest

from audits.access import AUDIT_PAGE_ROLES
from registry.accounts.models import STAFF_ROLES, Role
from registry.accounts.permissions import PUBLIC, SIGNED_IN
from registry.database import utcnow
from registry.scheduling.lease import acquire_lease, this_process
from tests.conftest import post_form
from tests.factories import PASSWORD, make_user

REGISTRY_STAFF = {Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR}
PAYMENT_STAFF = {Role.SUPPORT, Role.ADMINISTRATOR}
COMPLAINT_HANDLERS = {
    Role.SUPPORT,
    Role.EXECUTIVE_DIRECTOR,
    Role.COMMITTEE_MEMBER,
    Role.BOARD_MEMBER,
}
STAFF_PAGES = {
    "/staff/events": STAFF_ROLES,
    "/staff/outbox": {Role.ADMINISTRATOR},
    "/staff/mediators": REGISTRY_STAFF,
    "/staff/mediators/new": REGISTRY_STAFF,
    "/staff/waivers": PAYMENT_STAFF,
    "/staff/held-payments": PAYMENT_STAFF,
    "/staff/fees": {Role.ADMINISTRATOR},
    "/staff/specialisations": {Role.ADMINISTRATOR},
    "/my/certification": {Role.MEDIATOR},
    "/my/checklist": {Role.MEDIATOR},
    "/my/profile": {Role.MEDIATOR},
    "/my/feedback": {Role.MEDIATOR},
    "/reviewer": {Role.PEER_REVIEWER},
    "/staff/organisations": REGISTRY_STAFF,
    "/organisation": {Role.ORGANISATION_ADMIN},
    "/staff/audits": {*REGISTRY_STAFF, Role.COMMITTEE_MEMBER},
    "/staff/programs/new": {Role.ADMINISTRATOR},
    "/staff/appraisal-committee": {*REGISTRY_STAFF, Role.COMMITTEE_MEMBER},
    "/appraiser": {Role.APPRAISER},
    "/committee/audits": {Role.COMMITTEE_MEMBER},
    "/staff/complaints": COMPLAINT_HANDLERS,
    "/staff/complaint-committees": REGISTRY_STAFF,
}
# Audit pages: the roles that may hold a standing on an audit pass the role check, then get
# the audit guard's 404 on an audit that does not exist (as anyone without a standing does).
AUDIT_ROLES = set(AUDIT_PAGE_ROLES)
# Assignment pages admit staff past the role check so that they get the same 404 as a
# reviewer who is not the assignment's own.
ASSIGNMENT_ROLES = {Role.PEER_REVIEWER, *REGISTRY_STAFF}
# Pages about ids that exist nowhere: the guard answers before the lookup's 404.
PAGES_ON_MISSING_IDS = {
    "/staff/mediators/0/digest": REGISTRY_STAFF,
    "/reviewer/assignments/0": ASSIGNMENT_ROLES,
    "/staff/organisations/0": REGISTRY_STAFF,
    "/staff/programs/0": REGISTRY_STAFF,
    "/audits/0": AUDIT_ROLES,
    "/audits/0/appraisers": AUDIT_ROLES,
    "/audits/0/requests": AUDIT_ROLES,
    "/audits/0/documents/0": AUDIT_ROLES,
    "/audits/0/report": AUDIT_ROLES,
    # Every staff role passes to the complaint's own guard, which answers 404 to anyone who
    # is not one of its handlers (an administrator included).
    "/staff/complaints/0": STAFF_ROLES,
    "/staff/complaints/0/attachments/0": STAFF_ROLES,
    "/staff/invoices/0": REGISTRY_STAFF,
    "/staff/invoices/0/receipt.pdf": REGISTRY_STAFF,
    "/my/invoices/0/receipt.pdf": {Role.MEDIATOR},
}
# The dashboard's own guard turns away organisation admins of other organisations (403)
# before looking the organisation up; staff pass it and get the lookup's 404.
DASHBOARD_ROUTES = [
    "/organisation/0/dashboard",
    "/organisation/0/dashboard.csv",
    "/organisation/0/audits",
]
# Open to everyone, signed in or not.
PUBLIC_PAGES = [
    "/organisations",
    "/feedback/thanks",
    "/complaints/new",
    "/complaints/track",
    "/healthz",
]
# Open to everyone, answering 404 for an id that exists nowhere.
PUBLIC_PAGES_ON_MISSING_IDS = ["/programs/0", "/mediators/M0/certificate.pdf"]
COMPLAINT_ACTIONS = ("acknowledge", "message", "respond", "resolve", "escalate", "decide")
# POST routes, tried on ids that exist nowhere: the guard answers before the lookup's 404.
STAFF_ACTIONS = {
    "/staff/held-payments/0": PAYMENT_STAFF,
    "/staff/payments/0/void": PAYMENT_STAFF,
    "/staff/payments/0/refund": PAYMENT_STAFF,
    "/my/invoices/0/pay": {Role.MEDIATOR},
    "/staff/mediators/M0/specialisations": PAYMENT_STAFF,
    "/staff/specialisation-grants/0/withdraw": PAYMENT_STAFF,
    "/staff/name-changes/0/approve": PAYMENT_STAFF,
    "/staff/name-changes/0/refuse": PAYMENT_STAFF,
    "/staff/specialisations/unknown": {Role.ADMINISTRATOR},
    "/organisations/0/reviews/0/hide": REGISTRY_STAFF,
    "/organisations/0/reviews/0/restore": REGISTRY_STAFF,
    "/staff/mediators/0/reviewers": REGISTRY_STAFF,
    "/staff/reviewer-assignments/0/withdraw": REGISTRY_STAFF,
    "/reviewer/assignments/0/declaration": ASSIGNMENT_ROLES,
    "/reviewer/assignments/0/draft": ASSIGNMENT_ROLES,
    "/reviewer/assignments/0/publish": ASSIGNMENT_ROLES,
    "/staff/organisations/0/admins": {Role.ADMINISTRATOR},
    "/staff/organisations/0/admins/0/remove": {Role.ADMINISTRATOR},
    "/staff/organisations/0/links": REGISTRY_STAFF,
    "/staff/organisations/0/programs/0/mediators/M0/unlink": REGISTRY_STAFF,
    "/organisation/0/mediators/M0/remind": REGISTRY_STAFF,  # the dashboard's guard, as above
    "/staff/programs/0/withdraw": {Role.ADMINISTRATOR},
    # An unknown program type answers 404, like an unknown id.
    "/staff/appraisal-committee/XX/chair": {Role.ADMINISTRATOR},
    "/staff/appraisal-committee/XX/members": {Role.ADMINISTRATOR},
    "/staff/appraisal-committee/XX/members/0/remove": {Role.ADMINISTRATOR},
    "/audits/0/declaration": AUDIT_ROLES,
    "/audits/0/assignments": AUDIT_ROLES,
    "/audits/0/assignments/0/remove": AUDIT_ROLES,
    "/audits/0/requests": AUDIT_ROLES,
    "/audits/0/requests/0/documents": AUDIT_ROLES,
    "/audits/0/requests/0/answer": AUDIT_ROLES,
    "/audits/0/report": AUDIT_ROLES,
    "/audits/0/report/submit": AUDIT_ROLES,
    "/audits/0/report/return": AUDIT_ROLES,
    "/audits/0/report/sign-off": AUDIT_ROLES,
    "/audits/0/notes": AUDIT_ROLES,
    **{f"/staff/complaints/0/{action}": STAFF_ROLES for action in COMPLAINT_ACTIONS},
    "/staff/complaint-committees/0/members": {Role.ADMINISTRATOR},
    "/staff/complaint-committees/0/members/0/remove": {Role.ADMINISTRATOR},
    "/staff/complaint-committees/routes/unknown": {Role.ADMINISTRATOR},
}
SIGNED_IN_ACTIONS = ["/organisations/0/reviews"]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", list(STAFF_PAGES))
def test_staff_pages_let_in_only_their_roles(client, session, role, page):
    make_user(session, email="someone@example.org", roles=[role])
    post_form(client, "/login", {"email": "someone@example.org", "password": PASSWORD})
    response = client.get(page)
    if role in STAFF_PAGES[page]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        text = response.get_data(as_text=True)
        assert "Not allowed" in text
        assert "Traceback" not in text


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", list(PAGES_ON_MISSING_IDS))
def test_pages_about_an_id_let_in_only_their_roles(client, session, role, page):
    make_user(session, email="someone@example.org", roles=[role])
    post_form(client, "/login", {"email": "someone@example.org", "password": PASSWORD})
    expected = 404 if role in PAGES_ON_MISSING_IDS[page] else 403
    assert client.get(page).status_code == expected


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", DASHBOARD_ROUTES)
def test_dashboards_of_missing_organisations(client, session, role, page):
    make_user(session, email="someone@example.org", roles=[role])
    post_form(client, "/login", {"email": "someone@example.org", "password": PASSWORD})
    assert client.get(page).status_code == (404 if role in REGISTRY_STAFF else 403)


@pytest.mark.parametrize("page", [*STAFF_PAGES, *PAGES_ON_MISSING_IDS, *DASHBOARD_ROUTES])
def test_staff_pages_send_strangers_to_sign_in(client, session, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_one_person_may_hold_several_roles(client, session):
    make_user(session, email="both@example.org", roles=[Role.MEDIATOR, Role.ADMINISTRATOR])
    post_form(client, "/login", {"email": "both@example.org", "password": PASSWORD})
    assert client.get("/staff/outbox").status_code == 200


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and getattr(app.view_functions[rule.endpoint], "access", None) is None
    ]
    assert undeclared == []


def test_access_rules_are_known_values(app):
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        access = view.access
        assert access in (PUBLIC, SIGNED_IN) or (
            isinstance(access, frozenset) and access <= set(Role)
        ), endpoint


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_public_pages_are_open_to_strangers(client, session, page):
    assert client.get(page).status_code == 200


@pytest.mark.parametrize("page", PUBLIC_PAGES_ON_MISSING_IDS)
def test_public_pages_about_missing_ids_say_not_found(client, session, page):
    assert client.get(page).status_code == 404


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", [*STAFF_ACTIONS, *SIGNED_IN_ACTIONS])
def test_actions_let_in_only_their_roles(client, session, role, action):
    make_user(session, email="someone@example.org", roles=[role])
    post_form(client, "/login", {"email": "someone@example.org", "password": PASSWORD})
    response = post_form(client, action, {}, form_url="/account")
    allowed = action in SIGNED_IN_ACTIONS or role in STAFF_ACTIONS[action]
    assert response.status_code == (404 if allowed else 403)


@pytest.mark.parametrize("action", [*STAFF_ACTIONS, *SIGNED_IN_ACTIONS])
def test_actions_send_strangers_to_sign_in(client, session, action):
    response = post_form(client, action, {}, form_url="/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", [None, *Role])
def test_probes_and_metrics_answer_machines_whatever_the_role(client, session, role):
    """/healthz and /readyz are open; /metrics goes by address or token, never by role."""
    if role is not None:
        make_user(session, email="someone@example.org", roles=[role])
        post_form(client, "/login", {"email": "someone@example.org", "password": PASSWORD})
    acquire_lease(session, this_process(), utcnow())
    session.commit()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    stranger = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/metrics", environ_base=stranger).status_code == 403
    assert client.get("/metrics").status_code == 200  # from 127.0.0.1, the default scraper
