"""The Appraisal Committee, appraisers' conflict declarations and assignments: services, pages."""

import threading

import pytest
from sqlalchemy import func, select

from audits.committee import services
from audits.committee.services import CONFLICT_REMOVAL_REASON
from audits.models import (
    Audit,
    AuditAssignment,
    AuditStatus,
    ConflictDeclaration,
    SubcommitteeMember,
)
from audits.services import AuditError
from registry.accounts.models import Role, User
from registry.clock import local_today
from registry.database import db, utcnow
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from tests.audit_factories import (
    declare_and_assign,
    make_appraiser,
    make_audit,
    make_chair,
    make_organisation_admin,
    subcommittee,
)
from tests.conftest import post_form
from tests.factories import PASSWORD, make_organisation, make_program, make_user, staff_user

DETAILS = "I trained their assessors in 2024 and was paid for it."

# -- Helpers ---------------------------------------------------------------------------------


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mails_to(session, address):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id)
    ).all()


def actions(session, action):
    return session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


def audit_of(session, program_type="QAP", *, name="Mediation Academy", status=AuditStatus.OPEN):
    """Return an audit of a new program of ``program_type`` run by a new organisation."""
    organisation = make_organisation(session, name=name)
    program = make_program(session, program_type=program_type, organisation=organisation)
    completed = status == AuditStatus.COMPLETED
    audit = make_audit(session, program=program, status=AuditStatus.OPEN if completed else status)
    if completed:  # signed off today
        audit.status, audit.outcome, audit.signed_off_at = status, "renew", utcnow()
        audit.completed_on = local_today()
        session.flush()
    return audit


def declare(session, audit, appraiser, *, none=False, details="", **kinds):
    flags = {kind: kinds.get(kind, False) for kind in ("relationship", "gifts", "prior_work")}
    return services.declare_conflicts(
        session,
        audit,
        appraiser,
        other=kinds.get("other", False),
        no_conflict=none,
        details=details,
        now=utcnow(),
        **flags,
    )


def assign(session, audit, appraiser, chair):
    return services.assign_appraiser(session, audit, appraiser, now=utcnow(), actor=chair)


def active_count(session, audit):
    return count(
        session,
        AuditAssignment,
        AuditAssignment.audit_id == audit.id,
        AuditAssignment.removed_at.is_(None),
    )


@pytest.fixture
def qap(ctx, session):
    """An open QAP audit, its subcommittee's chair and an appraiser of its pool."""
    chair = make_chair(session, "QAP")
    appraiser = make_appraiser(session, "QAP", email="alex@example.org", name="Alex Appraiser")
    return audit_of(session), chair, appraiser


@pytest.fixture
def cmtp(ctx, session):
    """An open CMTP audit, its chair and three appraisers of its pool who declared none."""
    chair = make_chair(session, "CMTP", email="cmtp-chair@example.org")
    audit = audit_of(session, "CMTP", name="Training Institute")
    appraisers = [
        make_appraiser(session, "CMTP", email=f"{name.lower()}@example.org", name=name)
        for name in ("Ann", "Ben", "Cas")
    ]
    for appraiser in appraisers:
        declare(session, audit, appraiser, none=True)
    return audit, chair, appraisers


# -- The committee -------------------------------------------------------------------------


def test_an_administrator_appoints_a_chair(ctx, session):
    admin = staff_user(session)
    member = make_user(session, email="cm@example.org", name="Cleo", roles=[Role.COMMITTEE_MEMBER])
    services.appoint_chair(session, "ICQAP", member, now=utcnow(), actor=admin)
    assert subcommittee(session, "ICQAP").chair_id == member.id
    (event,) = actions(session, "subcommittee.chair_appointed")
    assert (event.subject_type, event.subject_id) == ("subcommittee", "ICQAP")
    assert event.data["user_id"] == member.id and event.actor_id == admin.id
    (mail,) = mails_to(session, "cm@example.org")
    assert "You chair the ICQAP subcommittee" in mail.subject
    assert "http://registry.test/committee/audits" in mail.body_text


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not a committee member", "Cleo is not a committee member"),
        ("disabled", "is disabled"),
        ("actor not an administrator", "Only administrators"),
        ("already chair", "Cleo already chairs the QAP subcommittee."),
    ],
)
def test_appointing_a_chair_refusals(ctx, session, case, message):
    roles = [Role.APPRAISER] if case == "not a committee member" else [Role.COMMITTEE_MEMBER]
    user = make_user(session, email="cm@example.org", name="Cleo", roles=roles)
    actor = staff_user(session)
    if case == "disabled":
        user.disabled_at = utcnow()
    if case == "actor not an administrator":
        actor = make_user(session, email="s@example.org", roles=[Role.SUPPORT])
    if case == "already chair":
        subcommittee(session, "QAP").chair_id = user.id
    before = subcommittee(session, "QAP").chair_id
    with pytest.raises(AuditError, match=message):
        services.appoint_chair(session, "QAP", user, now=utcnow(), actor=actor)
    assert subcommittee(session, "QAP").chair_id == before
    assert not actions(session, "subcommittee.chair_appointed")


def test_members_are_added_and_removed(ctx, session):
    admin = staff_user(session)
    user = make_user(session, email="ap@example.org", name="Ada", roles=[Role.APPRAISER])
    services.add_member(session, "MAQAP", user, now=utcnow(), actor=admin)
    assert count(session, SubcommitteeMember, SubcommitteeMember.user_id == user.id) == 1
    with pytest.raises(AuditError, match="Ada is already in the MAQAP subcommittee"):
        services.add_member(session, "MAQAP", user, now=utcnow(), actor=admin)
    services.remove_member(session, "MAQAP", user, now=utcnow(), actor=admin)
    assert count(session, SubcommitteeMember, SubcommitteeMember.user_id == user.id) == 0
    assert [e.data["user_id"] for e in actions(session, "subcommittee.member_added")] == [user.id]
    assert len(actions(session, "subcommittee.member_removed")) == 1
    with pytest.raises(AuditError, match="Ada is not in the MAQAP subcommittee"):
        services.remove_member(session, "MAQAP", user, now=utcnow(), actor=admin)


@pytest.mark.parametrize("case", ["not an appraiser", "disabled"])
def test_a_member_must_be_an_active_appraiser(ctx, session, case):
    roles = [Role.COMMITTEE_MEMBER] if case == "not an appraiser" else [Role.APPRAISER]
    user = make_user(session, email="ap@example.org", name="Ada", roles=roles)
    if case == "disabled":
        user.disabled_at = utcnow()
    with pytest.raises(AuditError, match=r"not an appraiser|is disabled"):
        services.add_member(session, "QAP", user, now=utcnow(), actor=staff_user(session))
    assert count(session, SubcommitteeMember) == 0


def test_an_assigned_appraiser_stays_in_the_pool(qap, session):
    audit, chair, appraiser = qap
    declare_and_assign(session, audit, appraiser, chair=chair)
    with pytest.raises(AuditError, match="removes that assignment first"):
        services.remove_member(session, "QAP", appraiser, now=utcnow(), actor=staff_user(session))
    assert "QAP" in services.queries.pool_types(session, appraiser.id)


# -- Declarations --------------------------------------------------------------------------


def test_declaring_no_conflict(qap, session):
    audit, _, appraiser = qap
    declaration = declare(session, audit, appraiser, none=True)
    assert declaration.has_conflict is False and declaration.conflict_declared_at is None
    (event,) = actions(session, "audit.no_conflict_declared")
    assert event.subject_type == "audit" and event.data["appraiser_id"] == appraiser.id


def test_declaring_a_conflict_keeps_the_details_out_of_the_log(qap, session):
    audit, _, appraiser = qap
    declaration = declare(
        session, audit, appraiser, gifts=True, other=True, details=f"  {DETAILS} "
    )
    assert declaration.has_conflict and declaration.has_gifts and declaration.has_other
    assert not declaration.has_relationship and not declaration.has_prior_work
    assert declaration.details == DETAILS
    assert declaration.conflict_declared_at == declaration.declared_at
    (event,) = actions(session, "audit.conflict_declared")
    assert event.data["kinds"] == ["gifts", "other"]
    assert "trained" not in str(event.data) and not event.reason


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("neither", "Declare either that you have no conflict"),
        ("both", "not both"),
        ("kind without details", "The details of the conflict cannot be empty."),
        ("details too long", "the limit is 2000"),
        ("no conflict with details", "You wrote details of a conflict"),
        ("not in the pool", "You are not in the pool of appraisers for QAP programs."),
        ("in another pool", "You are not in the pool of appraisers for QAP programs."),
        ("scheduled", "not open yet"),
        ("completed", "completed"),
    ],
)
def test_declaration_refusals(qap, session, case, message):
    audit, _, appraiser = qap
    kwargs = {
        "neither": {},
        "both": {"none": True, "gifts": True, "details": DETAILS},
        "kind without details": {"relationship": True, "details": "   "},
        "details too long": {"prior_work": True, "details": "x" * 2001},
        "no conflict with details": {"none": True, "details": DETAILS},
    }.get(case, {"none": True})
    if case == "not in the pool":
        appraiser = make_user(session, email="lone@example.org", roles=[Role.APPRAISER])
    if case == "in another pool":
        appraiser = make_appraiser(session, "CMTP", email="cm@example.org")
    if case in ("scheduled", "completed"):
        audit = audit_of(session, name="Other Academy", status=AuditStatus(case))
    with pytest.raises(AuditError, match=message):
        declare(session, audit, appraiser, **kwargs)
    assert count(session, ConflictDeclaration) == 0
    assert count(session, Event, Event.action.like("audit.%declared")) == 0


def test_no_conflict_cannot_be_declared_twice(qap, session):
    audit, _, appraiser = qap
    declare(session, audit, appraiser, none=True)
    with pytest.raises(AuditError, match="already declared that you have no conflict"):
        declare(session, audit, appraiser, none=True)
    assert len(actions(session, "audit.no_conflict_declared")) == 1


@pytest.mark.parametrize("then", ["no conflict", "another conflict"])
def test_a_conflict_is_final(qap, session, then):
    audit, _, appraiser = qap
    declare(session, audit, appraiser, relationship=True, details=DETAILS)
    kwargs = {"none": True} if then == "no conflict" else {"gifts": True, "details": "More."}
    with pytest.raises(AuditError, match=r"already declared a conflict.*final"):
        declare(session, audit, appraiser, **kwargs)
    declaration = session.get(ConflictDeclaration, (audit.id, appraiser.id))
    assert declaration.has_conflict and not declaration.has_gifts and declaration.details == DETAILS


def test_a_later_conflict_removes_the_appraiser_and_tells_the_chair(qap, session):
    audit, chair, appraiser = qap
    declare(session, audit, appraiser, none=True)
    assignment = assign(session, audit, appraiser, chair)
    assert audit.status == AuditStatus.IN_PROGRESS
    declare(session, audit, appraiser, prior_work=True, details=DETAILS)
    declaration = session.get(ConflictDeclaration, (audit.id, appraiser.id))
    assert declaration.has_conflict and declaration.has_prior_work
    assert declaration.conflict_declared_at >= declaration.declared_at
    assert assignment.removed_at is not None
    assert assignment.removal_reason == CONFLICT_REMOVAL_REASON
    assert audit.status == AuditStatus.OPEN
    (mail,) = mails_to(session, chair.email)
    assert "Appraiser removed after a conflict declaration" in mail.subject
    assert "Alex Appraiser has declared a conflict of interest" in mail.body_text
    assert "open again" in mail.body_text
    assert "trained" not in mail.body_text and "paid" not in mail.body_text
    (event,) = actions(session, "audit.conflict_declared")
    assert event.data["removed"] is True and event.data["reopened"] is True
    assert "trained" not in str(event.data)


def test_a_later_conflict_on_a_cmtp_leaves_one_appraiser_and_reopens(cmtp, session):
    audit, chair, (ann, ben, _) = cmtp
    assign(session, audit, ann, chair)
    assert audit.status == AuditStatus.OPEN
    assign(session, audit, ben, chair)
    assert audit.status == AuditStatus.IN_PROGRESS
    declare(session, audit, ben, other=True, details=DETAILS)
    assert audit.status == AuditStatus.OPEN and active_count(session, audit) == 1
    (mail,) = mails_to(session, chair.email)
    assert "1 of its 2 appraisers" in mail.body_text


def test_a_later_conflict_after_submission_removes_but_keeps_the_status(qap, session):
    audit, chair, appraiser = qap
    declare(session, audit, appraiser, none=True)
    assign(session, audit, appraiser, chair)
    audit.status = AuditStatus.SUBMITTED
    session.flush()
    declare(session, audit, appraiser, gifts=True, details=DETAILS)
    assert audit.status == AuditStatus.SUBMITTED and active_count(session, audit) == 0
    (mail,) = mails_to(session, chair.email)
    assert "waits for your sign-off" in mail.body_text


def test_a_later_conflict_without_assignment_mails_nobody(qap, session):
    audit, chair, appraiser = qap
    declare(session, audit, appraiser, none=True)
    declare(session, audit, appraiser, gifts=True, details=DETAILS)
    assert session.get(ConflictDeclaration, (audit.id, appraiser.id)).has_conflict
    assert not mails_to(session, chair.email)
    assert audit.status == AuditStatus.OPEN


# -- Assignments ---------------------------------------------------------------------------


def test_assigning_on_a_qap_starts_the_audit_and_mails_the_appraiser(qap, session):
    audit, chair, appraiser = qap
    declare(session, audit, appraiser, none=True)
    assignment = assign(session, audit, appraiser, chair)
    assert assignment.assigned_by_id == chair.id and assignment.removed_at is None
    assert audit.status == AuditStatus.IN_PROGRESS
    (mail,) = mails_to(session, appraiser.email)
    assert mail.subject == "Audit assignment: Mediation Academy: QAP program (QAP)"
    assert f"http://registry.test/audits/{audit.id}" in mail.body_text
    (event,) = actions(session, "audit.appraiser_assigned")
    assert event.data["appraiser_id"] == appraiser.id and event.actor_id == chair.id


REFUSALS = {
    "undeclared": "has not declared that they have no conflict",
    "declared a conflict": "declared a conflict of interest with this organisation",
    "third appraiser on a CMTP": "A CMTP audit has 2 appraisers and this one has them already",
    "second appraiser on a QAP": "A QAP audit has 1 appraiser and this one has them already",
    "by a committee member who is not the chair": "Only the chair of the QAP subcommittee",
    "by the chair of another type": "Only the chair of the QAP subcommittee",
    "by an administrator": "Only the chair of the QAP subcommittee",
    "on a scheduled audit": "not open yet",
    "on a submitted audit": "report of this audit is submitted",
    "on a completed audit": "This audit is completed",
    "appraiser not in the pool": "is not in the pool of appraisers for QAP programs",
    "appraiser of another pool": "is not in the pool of appraisers for QAP programs",
    "already assigned": "is already assigned to this audit",
    "the chair themself": "you cannot also appraise it",
}


def cleared(session, audit, appraiser):
    """Record a "no conflict" declaration directly, whatever the audit's status."""
    session.add(
        ConflictDeclaration(
            audit_id=audit.id, appraiser_id=appraiser.id, declared_at=utcnow(), has_conflict=False
        )
    )
    session.flush()


def chair_who_appraises(session, audit):
    """Return a new chair of the QAP subcommittee who is also in its pool, cleared for ``audit``."""
    both = make_user(
        session, email="both@example.org", name="Bo", roles=[Role.COMMITTEE_MEMBER, Role.APPRAISER]
    )
    qap = subcommittee(session, "QAP")
    qap.chair_id = both.id
    session.add(SubcommitteeMember(subcommittee_id=qap.id, user_id=both.id, joined_at=utcnow()))
    cleared(session, audit, both)
    return both


STATUS_CASES = {
    "on a scheduled audit": AuditStatus.SCHEDULED,
    "on a submitted audit": AuditStatus.SUBMITTED,
    "on a completed audit": AuditStatus.COMPLETED,
}
COLLEAGUES = {"third appraiser on a CMTP": 2, "second appraiser on a QAP": 1}
OTHER_ACTORS = {
    "by a committee member who is not the chair": lambda session: make_user(
        session, email="cm@example.org", roles=[Role.COMMITTEE_MEMBER]
    ),
    "by the chair of another type": lambda session: make_chair(
        session, "CMTP", email="other-chair@example.org"
    ),
    "by an administrator": staff_user,
}
OTHER_APPRAISERS = {
    "appraiser not in the pool": lambda session: make_user(
        session, email="lone@example.org", roles=[Role.APPRAISER]
    ),
    "appraiser of another pool": lambda session: make_appraiser(
        session, "ICQAP", email="ic@example.org"
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_assignment_refusals(ctx, session, case):
    program_type = "CMTP" if case == "third appraiser on a CMTP" else "QAP"
    chair = make_chair(session, program_type)
    audit = audit_of(session, program_type, status=STATUS_CASES.get(case, AuditStatus.OPEN))
    appraiser = make_appraiser(session, program_type, email="alex@example.org")
    if case == "declared a conflict":
        declare(session, audit, appraiser, gifts=True, details=DETAILS)
    elif case == "already assigned":
        declare_and_assign(session, audit, appraiser, chair=chair)
    elif case != "undeclared":
        cleared(session, audit, appraiser)
    for n in range(COLLEAGUES.get(case, 0)):
        colleague = make_appraiser(session, program_type, email=f"c{n}@example.org")
        declare_and_assign(session, audit, colleague, chair=chair)
    actor = OTHER_ACTORS[case](session) if case in OTHER_ACTORS else chair
    if case in OTHER_APPRAISERS:
        appraiser = OTHER_APPRAISERS[case](session)
    if case == "the chair themself":
        actor = appraiser = chair_who_appraises(session, audit)
    before = (count(session, AuditAssignment), audit.status, count(session, OutboxMessage))
    with pytest.raises(AuditError, match=REFUSALS[case]):
        assign(session, audit, appraiser, actor)
    session.refresh(audit)
    assert (count(session, AuditAssignment), audit.status, count(session, OutboxMessage)) == before
    assert not actions(session, "audit.appraiser_assigned")


def test_a_double_click_on_assign_is_refused_by_the_index(cmtp, session, monkeypatch):
    audit, chair, (ann, _, _) = cmtp
    assign(session, audit, ann, chair)
    # The second click passed the check before the first one's row was visible.
    monkeypatch.setattr(services.queries, "is_assigned", lambda *args: False)
    with pytest.raises(AuditError, match="Ann is already assigned to this audit"):
        assign(session, audit, ann, chair)
    assert active_count(session, audit) == 1 and audit.status == AuditStatus.OPEN
    assert len(mails_to(session, ann.email)) == 1


def test_two_assignments_at_once_make_one(fresh_app):
    with db.transaction() as session:
        chair = make_chair(session, "QAP")
        appraiser = make_appraiser(session, "QAP")
        audit = audit_of(session)
        declare(session, audit, appraiser, none=True)
        ids = audit.id, appraiser.id, chair.id
    start = threading.Barrier(2)
    outcomes = []

    def assigner():
        with fresh_app.app_context():
            start.wait()
            try:
                with db.transaction() as session:
                    audit_id, appraiser_id, chair_id = ids
                    assign(
                        session,
                        session.get(Audit, audit_id),
                        session.get(User, appraiser_id),
                        session.get(User, chair_id),
                    )
                outcomes.append("assigned")
            except AuditError as error:
                outcomes.append(str(error))

    threads = [threading.Thread(target=assigner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["Alex Appraiser is already assigned to this audit.", "assigned"]
    with db.transaction() as session:
        assert count(session, AuditAssignment) == 1
        assert count(session, Event, Event.action == "audit.appraiser_assigned") == 1


def test_the_chair_removes_an_appraiser_with_a_reason(cmtp, session):
    audit, chair, (ann, ben, cas) = cmtp
    assign(session, audit, ann, chair)
    second = assign(session, audit, ben, chair)
    with pytest.raises(AuditError, match="The reason cannot be empty"):
        services.remove_appraiser(session, audit, second, reason=" ", now=utcnow(), actor=chair)
    with pytest.raises(AuditError, match="Only the chair of the CMTP subcommittee can remove"):
        services.remove_appraiser(session, audit, second, reason="x", now=utcnow(), actor=ann)
    assert second.removed_at is None and audit.status == AuditStatus.IN_PROGRESS
    reopened = services.remove_appraiser(
        session, audit, second, reason="On leave until June", now=utcnow(), actor=chair
    )
    assert reopened and audit.status == AuditStatus.OPEN
    assert second.removal_reason == "Removed by the chair: On leave until June"
    (mail,) = mails_to(session, ben.email)[-1:]
    assert (
        "You are removed from the audit" in mail.subject and "On leave until June" in mail.body_text
    )
    (event,) = actions(session, "audit.appraiser_removed")
    assert event.reason == "On leave until June"
    with pytest.raises(AuditError, match="Ben was already removed"):
        services.remove_appraiser(session, audit, second, reason="x", now=utcnow(), actor=chair)
    assign(session, audit, cas, chair)
    assert audit.status == AuditStatus.IN_PROGRESS


# -- Pages ---------------------------------------------------------------------------------


def sign_in(client, session, email, roles=(), name="Someone"):
    """Sign in as ``email``, creating the account with ``roles`` unless it exists."""
    if roles:
        make_user(session, email=email, name=name, roles=roles)
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303
    return response


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def content(html):
    """Return the page's main content after any flashed messages (e.g. "Signed in as ...")."""
    main = html.split("<main")[1].split("</main>")[0]
    return main.split("</div>", 1)[1] if 'class="flashes"' in main else main


@pytest.fixture
def scene(app, session):
    """An open QAP audit with its chair, an appraiser assigned, one declared none, one a
    conflict, one undeclared, the organisation's admin and an appraiser of another pool."""
    with app.app_context():
        chair = make_chair(session, "QAP")
        audit = audit_of(session)
        assigned = make_appraiser(session, "QAP", email="alex@example.org", name="Alex Assigned")
        cleared = make_appraiser(session, "QAP", email="cleo@example.org", name="Cleo Cleared")
        conflicted = make_appraiser(session, "QAP", email="con@example.org", name="Con Conflict")
        make_appraiser(session, "QAP", email="una@example.org", name="Una Undeclared")
        make_appraiser(session, "CMTP", email="other@example.org", name="Otto Other")
        declare_and_assign(session, audit, assigned, chair=chair)
        declare(session, audit, cleared, none=True)
        declare(session, audit, conflicted, relationship=True, details=DETAILS)
        make_organisation_admin(session, audit.program.organisation)
    return audit


STANDINGS = [
    ("chair", "chair@example.org", (), 200),
    ("assigned appraiser", "alex@example.org", (), 200),
    ("pool appraiser", "una@example.org", (), 200),
    ("support", "support@example.org", [Role.SUPPORT], 200),
    ("executive director", "ed@example.org", [Role.EXECUTIVE_DIRECTOR], 200),
    ("administrator", "admin@example.org", [Role.ADMINISTRATOR], 200),
    ("appraiser of another pool", "other@example.org", (), 404),
    ("organisation admin", "admin@academy.example", (), 404),
    ("committee member who chairs nothing", "cm@example.org", [Role.COMMITTEE_MEMBER], 404),
    ("mediator", "med@example.org", [Role.MEDIATOR], 403),
    ("peer reviewer", "peer@example.org", [Role.PEER_REVIEWER], 403),
]


@pytest.mark.parametrize(("who", "email", "roles", "status"), STANDINGS)
def test_the_appraisers_page_per_standing(client, session, scene, who, email, roles, status):
    sign_in(client, session, email, roles)
    html = page(client, f"/audits/{scene.id}/appraisers", status)
    if status != 200:
        return
    html = content(html)
    assert "<h1>Mediation Academy: QAP program (QAP)</h1>" in html
    assert (DETAILS in html) is (who == "chair")
    assert ("Con Conflict" in html) is (who == "chair")
    sees_team = who in ("chair", "support", "executive director", "administrator")
    assert ("Alex Assigned" in html) is sees_team
    assert ("Send declaration" in html) is (who == "pool appraiser")
    assert ("I have a conflict of interest after all" in html) is (who == "assigned appraiser")


def test_strangers_are_sent_to_sign_in(client, session, scene):
    for url in (
        f"/audits/{scene.id}/appraisers",
        "/appraiser",
        "/committee/audits",
        "/staff/appraisal-committee",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_a_missing_audit_is_404(client, session, scene):
    sign_in(client, session, "chair@example.org")
    assert client.get("/audits/999999/appraisers").status_code == 404


@pytest.mark.parametrize(
    ("email", "roles", "status"),
    [
        ("una@example.org", (), 404),  # a pool appraiser
        ("support@example.org", [Role.SUPPORT], 404),
        ("admin@example.org", [Role.ADMINISTRATOR], 404),
        ("med@example.org", [Role.MEDIATOR], 403),
    ],
)
def test_only_the_chair_posts_assignments(client, session, scene, email, roles, status):
    sign_in(client, session, email, roles)
    assignment = session.scalar(select(AuditAssignment))
    for url in (
        f"/audits/{scene.id}/assignments",
        f"/audits/{scene.id}/assignments/{assignment.id}/remove",
    ):
        response = post_form(client, url, {"appraiser_id": "1"}, form_url="/account")
        assert response.status_code == status, url
    assert active_count(session, scene) == 1


@pytest.mark.parametrize(
    ("email", "roles", "status"),
    [
        ("chair@example.org", (), 404),
        ("support@example.org", [Role.SUPPORT], 404),
        ("med@example.org", [Role.MEDIATOR], 403),
    ],
)
def test_only_pool_appraisers_post_declarations(client, session, scene, email, roles, status):
    sign_in(client, session, email, roles)
    url = f"/audits/{scene.id}/declaration"
    response = post_form(client, url, {"no_conflict": "y"}, form_url="/account")
    assert response.status_code == status
    assert count(session, ConflictDeclaration) == 3


def test_a_pool_appraiser_sees_the_code_of_conduct_form_and_nothing_confidential(
    client, session, scene
):
    sign_in(client, session, "una@example.org")
    html = page(client, f"/audits/{scene.id}/appraisers")
    assert "I declare that I have no conflict of interest with this organisation" in html
    assert "gifts, cash or services from the organisation" in html
    assert "expertise, time or side" in html
    assert "prevent an impartial appraisal" in html
    for secret in ("Cleo Cleared", "Con Conflict", "Alex Assigned", "@example.org", "Una"):
        assert secret not in content(html)


def test_declaring_no_conflict_on_the_page(client, session, scene):
    sign_in(client, session, "una@example.org")
    url = f"/audits/{scene.id}/appraisers"
    response = post_form(
        client, f"/audits/{scene.id}/declaration", {"no_conflict": "y"}, form_url=url
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    html = page(client, url)
    assert "you declared no conflict of interest. The chair may now assign you." in html
    assert "You declared that you have no conflict of interest with Mediation Academy" in html
    assert "I have a conflict of interest after all" in html
    assert "I declare that I have no conflict" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Declare either that you have no conflict"),
        ({"no_conflict": "y", "gifts": "y", "details": DETAILS}, "not both"),
        ({"gifts": "y"}, "The details of the conflict cannot be empty."),
        ({"other": "y", "details": "x" * 2001}, "At most 2000 characters."),
    ],
)
def test_bad_declarations_on_the_page_change_nothing(client, session, scene, data, message):
    sign_in(client, session, "una@example.org")
    url = f"/audits/{scene.id}/appraisers"
    response = post_form(client, f"/audits/{scene.id}/declaration", data, form_url=url)
    assert response.status_code == 303
    assert message in page(client, url)
    assert count(session, ConflictDeclaration) == 3


def test_an_assigned_appraiser_declares_a_later_conflict_on_the_page(client, session, scene):
    sign_in(client, session, "alex@example.org")
    url = f"/audits/{scene.id}/appraisers"
    assert "I have a conflict of interest after all" in page(client, url)
    data = {"relationship": "y", "details": DETAILS}
    post_form(client, f"/audits/{scene.id}/declaration", data, form_url=url)
    html = page(client, url)
    assert "you are removed from this audit; the chair is told" in html
    assert "a conflict declaration is final" in html and DETAILS in html
    session.refresh(scene)
    assert scene.status == AuditStatus.OPEN and active_count(session, scene) == 0
    (mail,) = mails_to(session, "chair@example.org")
    assert DETAILS not in mail.body_text


def test_the_chair_sees_declarations_and_assigns_from_those_without_conflict(
    client, session, scene
):
    sign_in(client, session, "chair@example.org")
    url = f"/audits/{scene.id}/appraisers"
    assignment = session.scalar(select(AuditAssignment))
    remove = f"/audits/{scene.id}/assignments/{assignment.id}/remove"
    response = post_form(client, remove, {f"remove-{assignment.id}-reason": ""}, form_url=url)
    assert response.status_code == 303
    assert "Say why the appraiser is removed." in page(client, url)
    post_form(client, remove, {f"remove-{assignment.id}-reason": "Too busy"}, form_url=url)
    html = page(client, url)
    assert "Alex Assigned is removed from this audit" in html and "open again" in html
    assert "Removed by the chair: Too busy" in html
    select_html = html.split('name="appraiser_id"')[1].split("</select>")[0]
    assert "Cleo Cleared" in select_html
    for not_offered in ("Con Conflict", "Una Undeclared", "Otto Other", "Chris Chair"):
        assert not_offered not in select_html
    assert "Not assignable, because they declared a conflict: Con Conflict." in html
    assert "Not declared yet: Una Undeclared." in html
    assert DETAILS in html
    cleo_id = session.scalar(
        select(ConflictDeclaration.appraiser_id)
        .where(~ConflictDeclaration.has_conflict)
        .order_by(ConflictDeclaration.declared_at.desc())
    )
    response = post_form(
        client, f"/audits/{scene.id}/assignments", {"appraiser_id": str(cleo_id)}, form_url=url
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    html = page(client, url)
    assert "Cleo Cleared is assigned and told by e-mail." in html
    assert "The audit has its 1 appraiser; remove one to assign another." in html
    session.refresh(scene)
    assert scene.status == AuditStatus.IN_PROGRESS


def test_the_chair_cannot_assign_a_conflicted_appraiser_through_the_form(client, session, scene):
    sign_in(client, session, "chair@example.org")
    url = f"/audits/{scene.id}/appraisers"
    conflicted = session.scalar(
        select(ConflictDeclaration.appraiser_id).where(ConflictDeclaration.has_conflict)
    )
    assignment = session.scalar(select(AuditAssignment))
    post_form(
        client,
        f"/audits/{scene.id}/assignments/{assignment.id}/remove",
        {f"remove-{assignment.id}-reason": "Swap"},
        form_url=url,
    )
    for value, message in (
        (str(conflicted), "Con Conflict declared a conflict of interest"),
        ("0", "Choose an appraiser."),
        ("999999", "There is no such appraiser."),
    ):
        post_form(client, f"/audits/{scene.id}/assignments", {"appraiser_id": value}, form_url=url)
        assert message in page(client, url)
    assert active_count(session, scene) == 0


def test_staff_see_who_is_assigned_and_counts_only(client, session, scene):
    sign_in(client, session, "support@example.org", [Role.SUPPORT])
    html = page(client, f"/audits/{scene.id}/appraisers")
    assert "Alex Assigned" in html
    assert "2 appraisers declared no conflict of interest; 1 declared a conflict." in html
    assert DETAILS not in html and "Con Conflict" not in html and "Cleo Cleared" not in html
    assert 'name="appraiser_id"' not in html and "Send declaration" not in html


def test_appraiser_home_shows_each_state(app, client, session, scene):
    with app.app_context():
        second = audit_of(session, name="Second Academy")
        third = audit_of(session, name="Third Academy")
        audit_of(session, name="Future Academy", status=AuditStatus.SCHEDULED)
        alex = session.scalar(select(AuditAssignment)).appraiser
        declare(session, second, alex, none=True)
        declare(session, third, alex, gifts=True, details=DETAILS)
        audit_of(session, name="Fourth Academy")
    sign_in(client, session, "alex@example.org")
    html = page(client, "/appraiser")
    assigned, pools = html.split("Audits of your pools")
    assert f'href="/audits/{scene.id}"' in assigned and "Mediation Academy" in assigned
    assert "Second Academy" not in assigned
    rows = {
        name: pools.split(name)[1].split("</tr>")[0]
        for name in ("Mediation Academy", "Second Academy", "Third Academy", "Fourth Academy")
    }
    assert "Assigned to you" in rows["Mediation Academy"]
    assert "No conflict declared: waiting for the chair" in rows["Second Academy"]
    assert "Conflict declared" in rows["Third Academy"]
    assert "Declaration needed" in rows["Fourth Academy"]
    assert f'href="/audits/{scene.id}/appraisers"' not in rows["Mediation Academy"]
    assert "Future Academy" not in html
    assert "1 audit waits for your declaration." in html
    assert DETAILS not in html


def test_appraiser_home_without_a_pool(client, session):
    sign_in(client, session, "lone@example.org", [Role.APPRAISER])
    assert "You are not in the pool of any subcommittee" in page(client, "/appraiser")


def test_the_chair_page_groups_audits_with_counts(app, client, session, scene):
    with app.app_context():
        submitted = audit_of(session, name="Submitted Academy", status=AuditStatus.SUBMITTED)
        audit_of(session, name="Done Academy", status=AuditStatus.COMPLETED)
        waiting = audit_of(session, name="Waiting Academy")
        declare(session, waiting, session.scalar(select(AuditAssignment)).appraiser, none=True)
        audit_of(session, "CMTP", name="Not Mine Institute")
        session.flush()
    sign_in(client, session, "chair@example.org")
    html = page(client, "/committee/audits")
    assert "You chair the QAP subcommittee" in html
    sections = html.split("<h2")
    by_heading = {s.split(">", 1)[1].split("</h2>")[0]: s for s in sections[1:]}
    assert "Waiting Academy" in by_heading["Waiting for appraisers (1)"]
    assert (
        "0 of 1 appraiser assigned · 1 declared no conflict"
        in by_heading["Waiting for appraisers (1)"]
    )
    assert f'href="/audits/{submitted.id}/report"' in by_heading["Waiting for your sign-off (1)"]
    assert "Mediation Academy" in by_heading["In progress (1)"]
    assert "Done Academy" in by_heading["Completed in the last 365 days (1)"]
    assert "Renew" in by_heading["Completed in the last 365 days (1)"]
    assert "Not Mine Institute" not in html


def test_a_committee_member_who_chairs_nothing_is_told_why(client, session):
    sign_in(client, session, "cm@example.org", [Role.COMMITTEE_MEMBER])
    html = page(client, "/committee/audits")
    assert "You do not chair a subcommittee of the Appraisal Committee" in html


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/appraiser", {Role.APPRAISER}),
        ("/committee/audits", {Role.COMMITTEE_MEMBER}),
        (
            "/staff/appraisal-committee",
            {Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR, Role.COMMITTEE_MEMBER},
        ),
    ],
)
@pytest.mark.parametrize("role", list(Role))
def test_home_pages_let_in_only_their_roles(client, session, url, allowed, role):
    sign_in(client, session, "someone@example.org", [role])
    assert client.get(url).status_code == (200 if role in allowed else 403)


# -- The committee page --------------------------------------------------------------------

COMMITTEE = "/staff/appraisal-committee"


def admin_in(client, session):
    sign_in(client, session, "admin@example.org", [Role.ADMINISTRATOR])


def test_the_committee_page_lists_chairs_and_pools(app, client, session):
    with app.app_context():
        make_chair(session, "QAP")
        make_appraiser(session, "QAP", email="alex@example.org", name="Alex Appraiser")
    sign_in(client, session, "cm@example.org", [Role.COMMITTEE_MEMBER])
    html = page(client, COMMITTEE)
    qap = html.split('id="QAP"')[1].split("</section>")[0]
    assert "Chris Chair" in qap and "Alex Appraiser" in qap
    assert "No chair" in html.split('id="CMTP"')[1].split("</section>")[0]
    assert "Appoint chair" not in html and "Registry administrators appoint chairs" in html


def test_an_administrator_appoints_a_chair_by_e_mail(client, session):
    make_user(session, email="cleo@example.org", name="Cleo", roles=[Role.COMMITTEE_MEMBER])
    admin_in(client, session)
    response = post_form(
        client,
        f"{COMMITTEE}/CMTP/chair",
        {"chair-CMTP-email": " Cleo@Example.org "},
        form_url=COMMITTEE,
    )
    assert response.status_code == 303 and response.headers["Location"] == f"{COMMITTEE}#CMTP"
    html = page(client, COMMITTEE)
    assert "Cleo now chairs the CMTP subcommittee" in html
    assert subcommittee(session, "CMTP").chair.email == "cleo@example.org"


@pytest.mark.parametrize(
    ("route", "field", "email", "message"),
    [
        ("chair", "chair-QAP-email", "nobody@example.org", "There is no account with the e-mail"),
        ("chair", "chair-QAP-email", "not an address", "This is not an e-mail address."),
        ("chair", "chair-QAP-email", "", "Give the e-mail address of their account."),
        ("chair", "chair-QAP-email", "ap@example.org", "is not a committee member"),
        ("members", "member-QAP-email", "nobody@example.org", "There is no account"),
        ("members", "member-QAP-email", "cm@example.org", "is not an appraiser"),
    ],
)
def test_bad_committee_input_changes_nothing(client, session, route, field, email, message):
    make_user(session, email="ap@example.org", name="Ada", roles=[Role.APPRAISER])
    make_user(session, email="cm@example.org", name="Cleo", roles=[Role.COMMITTEE_MEMBER])
    admin_in(client, session)
    response = post_form(client, f"{COMMITTEE}/QAP/{route}", {field: email}, form_url=COMMITTEE)
    assert response.status_code == 303
    assert message in page(client, COMMITTEE)
    assert subcommittee(session, "QAP").chair_id is None
    assert count(session, SubcommitteeMember) == 0


def test_an_administrator_adds_and_removes_pool_members(client, session):
    ada = make_user(session, email="ada@example.org", name="Ada", roles=[Role.APPRAISER])
    admin_in(client, session)
    post_form(
        client,
        f"{COMMITTEE}/ODRQAP/members",
        {"member-ODRQAP-email": ada.email},
        form_url=COMMITTEE,
    )
    assert "Ada is in the pool of ODRQAP appraisers." in page(client, COMMITTEE)
    response = post_form(
        client, f"{COMMITTEE}/ODRQAP/members/{ada.id}/remove", {}, form_url=COMMITTEE
    )
    assert response.status_code == 303
    assert "Ada is no longer in the pool of ODRQAP appraisers." in page(client, COMMITTEE)
    assert count(session, SubcommitteeMember) == 0


def test_an_assigned_member_cannot_be_removed_on_the_page(client, session, scene):
    alex = session.scalar(select(AuditAssignment)).appraiser
    admin_in(client, session)
    post_form(client, f"{COMMITTEE}/QAP/members/{alex.id}/remove", {}, form_url=COMMITTEE)
    assert "removes that assignment first" in page(client, COMMITTEE)
    assert "QAP" in services.queries.pool_types(session, alex.id)


@pytest.mark.parametrize(
    "url",
    [
        f"{COMMITTEE}/QAP/chair",
        f"{COMMITTEE}/QAP/members",
        f"{COMMITTEE}/QAP/members/1/remove",
    ],
)
@pytest.mark.parametrize("role", [Role.SUPPORT, Role.COMMITTEE_MEMBER, Role.APPRAISER])
def test_only_administrators_change_the_committee(client, session, url, role):
    sign_in(client, session, "someone@example.org", [role])
    assert post_form(client, url, {}, form_url="/account").status_code == 403


def test_an_unknown_program_type_is_404(client, session):
    admin_in(client, session)
    response = post_form(client, f"{COMMITTEE}/XYZ/chair", {}, form_url=COMMITTEE)
    assert response.status_code == 404
