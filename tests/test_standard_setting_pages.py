"""Standard setting through its pages: who may use each route, and a standard carried from a
proposal to a published version by proposer, Board, chair and member, with bad input refused."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from registry.accounts.models import Role
from registry.accounts.services import find_user
from registry.clock import local_today
from registry.mediators.models import Specialisation
from standards.models import (
    CommentAnswer,
    Consultation,
    Decision,
    FoundingProposal,
    StandardProposal,
    TaskforceMember,
    VersionStatus,
)
from standards.queries import standard_by_code
from tests.conftest import post_form
from tests.factories import PASSWORD, make_user
from tests.standards_factories import (
    close_consultation,
    make_comment,
    make_committee_member,
    make_standard,
    make_taskforce,
    open_consultation,
)

BOARD = {Role.BOARD_MEMBER}
WORKSPACE_ROLES = {Role.COMMITTEE_MEMBER, Role.BOARD_MEMBER}
ALL = set(Role)
# Pages: the roles let in (200); others get 403, strangers are sent to sign in.
PAGES = {
    "/standards/propose": ALL,
    "/my/standard-proposals": ALL,
    "/board/standards": BOARD,
    "/my/taskforces": {Role.COMMITTEE_MEMBER},
}
# Pages and actions about ids or codes that exist nowhere: the roles let in get 404.
ON_MISSING = {
    "/board/standard-proposals/0": BOARD,
    "/board/standards/NOPE/taskforce": BOARD,
    "/standards/NOPE/workspace": WORKSPACE_ROLES,
}
BOARD_ACTIONS = [
    "/board/standard-proposals/0/accept",
    "/board/standard-proposals/0/decline",
    "/board/standards/NOPE/revision",
    "/board/standards/NOPE/publication/approve",
    "/board/standards/NOPE/publication/decline",
    "/board/standards/NOPE/taskforce",
    "/board/taskforce-members/0/chair",
    "/board/taskforce-members/0/end",
    "/board/founding-proposals/0/approve",
    "/board/founding-proposals/0/decline",
]
WORKSPACE_ACTIONS = [
    f"/standards/NOPE/workspace/{path}"
    for path in (
        "rules",
        "rules/0",
        "rules/0/move",
        "rules/0/remove",
        "summary",
        "consultation",
        "consultations/1/close",
        "answers",
        "publication",
        "founding",
    )
]
ACTIONS = {
    **{action: BOARD for action in BOARD_ACTIONS},
    **{action: WORKSPACE_ROLES for action in WORKSPACE_ACTIONS},
}


def registry_today(app):
    with app.app_context():
        return local_today()


def sign_in(client, session, email, roles=None, name="Someone"):
    if roles is not None:
        make_user(session, email=email, name=name, roles=roles)
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303, email


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", list(PAGES))
def test_pages_let_in_only_their_roles(client, session, role, page):
    sign_in(client, session, "someone@example.org", [role])
    response = client.get(page)
    assert response.status_code == (200 if role in PAGES[page] else 403)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", list(ON_MISSING))
def test_pages_about_missing_things(client, session, role, page):
    sign_in(client, session, "someone@example.org", [role])
    assert client.get(page).status_code == (404 if role in ON_MISSING[page] else 403)


@pytest.mark.parametrize("page", [*PAGES, *ON_MISSING])
def test_pages_send_strangers_to_sign_in(client, session, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_actions_let_in_only_their_roles(client, session, role, action):
    sign_in(client, session, "someone@example.org", [role])
    response = post_form(client, action, {}, form_url="/account")
    assert response.status_code == (404 if role in ACTIONS[action] else 403)


@pytest.mark.parametrize("action", [*ACTIONS, "/standards/propose"])
def test_actions_send_strangers_to_sign_in(client, session, action):
    response = post_form(client, action, {}, form_url="/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("who", "status"),
    [("chair", 200), ("member", 200), ("board", 200), ("outsider", 403), ("mediator", 403)],
)
def test_the_workspace_is_private_to_the_taskforce_and_the_board(app, client, session, who, status):
    standard = make_standard(session, published_on=None)
    chair = make_committee_member(session, email="chair@example.org")
    member = make_committee_member(session, email="member@example.org", name="Mo Member")
    make_taskforce(session, standard, chair=chair, members=[member], starts_on=registry_today(app))
    roles = {
        "board": [Role.BOARD_MEMBER],
        "outsider": [Role.COMMITTEE_MEMBER],
        "mediator": [Role.MEDIATOR],
    }
    sign_in(client, session, f"{who}@example.org", roles.get(who))
    response = client.get(f"/standards/{standard.code}/workspace")
    assert response.status_code == status
    if status == 200:
        assert "ETH-1" in response.get_data(as_text=True)


def test_a_member_whose_membership_ended_is_turned_away(app, client, session):
    standard = make_standard(session)
    member = make_committee_member(session)
    make_taskforce(session, standard, members=[member], starts_on=registry_today(app))
    seat = session.scalar(select(TaskforceMember).where(TaskforceMember.user_id == member.id))
    seat.ended_at = seat.appointed_at
    session.flush()
    sign_in(client, session, "member@example.org")
    assert client.get(f"/standards/{standard.code}/workspace").status_code == 403


def test_proposing_needs_a_title(client, session):
    sign_in(client, session, "someone@example.org", [Role.MEDIATOR])
    response = post_form(client, "/standards/propose", {"title": "", "purpose": "P", "scope": "S"})
    assert response.status_code == 422
    assert "Give the standard a title." in response.get_data(as_text=True)
    assert session.scalar(select(StandardProposal)) is None


def post(session, client, url, data, *, form_url=None):
    """POST a form, then forget what the test's session read: the request wrote in its own."""
    response = post_form(client, url, data, form_url=form_url)
    session.expire_all()
    return response


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_a_standard_from_proposal_to_publication_through_the_pages(app, session):
    today = registry_today(app)
    proposer, board, chair, member = (app.test_client() for _ in range(4))
    sign_in(proposer, session, "proposer@example.org", [Role.MEDIATOR], "Pia Proposer")
    sign_in(board, session, "board@example.org", [Role.BOARD_MEMBER], "Bea Board")
    sign_in(chair, session, "chair@example.org", [Role.COMMITTEE_MEMBER], "Cy Chair")
    sign_in(member, session, "member@example.org", [Role.COMMITTEE_MEMBER], "Mo Member")
    # The proposer proposes and follows the proposal.
    response = post(
        session,
        proposer,
        "/standards/propose",
        {"title": "Online mediation ethics", "purpose": "Duties online.", "scope": "Everyone."},
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/my/standard-proposals")
    assert "Awaiting the Board" in page(proposer, "/my/standard-proposals")
    # The Board sees it, refuses a taken code, accepts with a new one.
    proposal = session.scalar(select(StandardProposal))
    assert "Online mediation ethics" in page(board, "/board/standards")
    url = f"/board/standard-proposals/{proposal.id}"
    response = post(
        session, board, f"{url}/accept", {"code": "QAP", "kind": "guidance"}, form_url=url
    )
    assert response.headers["Location"] == url
    assert "The code QAP is taken by another standard." in page(board, url)
    assert proposal.decision == Decision.PENDING
    response = post(
        session, board, f"{url}/accept", {"code": "ODRE", "kind": "guidance"}, form_url=url
    )
    assert response.headers["Location"] == "/board/standards/ODRE/taskforce"
    assert "Accepted" in page(proposer, "/my/standard-proposals")
    # The Board appoints the chair and a member.
    standard = standard_by_code(session, "ODRE")
    taskforce_url = "/board/standards/ODRE/taskforce"
    for email, is_chair in (("chair@example.org", True), ("member@example.org", False)):
        data = {
            "user_id": find_user(session, email).id,
            "term_starts_on": today.isoformat(),
            "term_ends_on": (today + timedelta(days=700)).isoformat(),
        }
        if is_chair:
            data["is_chair"] = "y"
        response = post(session, board, taskforce_url, data)
        assert response.status_code == 303
    text = page(board, taskforce_url)
    assert "Cy Chair" in text and "Mo Member" in text
    chair_id = find_user(session, "chair@example.org").id
    assert f'<option value="{chair_id}">' not in text  # no second seat offered
    assert "ODRE" in page(chair, "/my/taskforces")
    # The member drafts; the chair opens the consultation (a too-early date is refused).
    workspace = "/standards/ODRE/workspace"
    response = post(
        session,
        member,
        f"{workspace}/rules",
        {"new-body": "Tell the parties the platform"},
        form_url=workspace,
    )
    assert response.headers["Location"] == f"{workspace}#rules"
    assert "ODRE-1" in page(member, workspace)
    rule = standard.versions[0].rules[0]
    post(
        session,
        member,
        f"{workspace}/rules/{rule.id}",
        {f"rule-{rule.id}-body": "Name the platform"},
        form_url=workspace,
    )
    assert rule.body == "Name the platform"
    post(
        session,
        member,
        f"{workspace}/consultation",
        {"closes_on": (today + timedelta(days=30)).isoformat()},
        form_url=workspace,
    )
    assert standard.versions[0].status == VersionStatus.DRAFTING  # only the chair consults
    post(
        session,
        chair,
        f"{workspace}/consultation",
        {"closes_on": (today + timedelta(days=5)).isoformat()},
        form_url=workspace,
    )
    assert "A consultation runs at least 14 days" in page(chair, workspace)
    post(
        session,
        chair,
        f"{workspace}/consultation",
        {"closes_on": (today + timedelta(days=14)).isoformat()},
        form_url=workspace,
    )
    version = standard.versions[0]
    assert version.status == VersionStatus.CONSULTATION
    # Comments come in (the public pages' part); the consultation ends and the chair closes it.
    consultation = session.scalar(select(Consultation))
    named = make_comment(session, consultation, rule_code="ODRE-1")
    anonymous = make_comment(session, consultation, anonymous=True, body="Cover the telephone.")
    make_comment(session, consultation, anonymous=True, hidden_reason="Off topic.")
    consultation.opened_on, consultation.closes_on = (
        today - timedelta(days=20),
        today - timedelta(days=1),
    )
    session.flush()
    post(session, chair, f"{workspace}/consultations/1/close", {}, form_url=workspace)
    assert version.status == VersionStatus.REVISING
    text = page(member, workspace)
    assert "2 comments wait for an answer." in text and "hidden by moderation: Off topic." in text
    # The member answers both with one verdict; the chair proposes; the Board publishes.
    response = post(
        session,
        member,
        f"{workspace}/answers",
        {
            "consultation_id": consultation.id,
            "comment_ids": [named.id, anonymous.id],
            "verdict": "partly",
            "body": "We name the platform; telephone next time.",
        },
        form_url=workspace,
    )
    assert response.headers["Location"] == f"{workspace}#comments"
    assert named.answer_id is not None and named.answer_id == anonymous.answer_id
    post(session, chair, f"{workspace}/publication", {}, form_url=workspace)
    assert version.status == VersionStatus.PROPOSED
    assert "ODRE v1" in page(board, "/board/standards")
    response = post(
        session, board, "/board/standards/ODRE/publication/approve", {}, form_url=workspace
    )
    assert response.headers["Location"] == "/board/standards"
    assert (version.status, version.published_on) == (VersionStatus.PUBLISHED, today)
    board_page = page(board, "/board/standards")
    assert "ODRE v1 is published" in board_page
    assert "Version 1 of" not in board_page and "since" in board_page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"consultation_id": "abc", "comment_ids": ["1"]}, "Choose the comments of one of this"),
        ({"consultation_id": "{consultation}", "comment_ids": []}, "Choose the comments this"),
        ({"consultation_id": "{consultation}", "comment_ids": ["x"]}, "Comments answered"),
    ],
)
def test_answering_refuses_bad_input(app, client, session, data, message):
    standard = make_standard(session, published_on=None)
    chair = make_committee_member(session, email="chair@example.org")
    make_taskforce(session, standard, chair=chair, starts_on=registry_today(app))
    consultation = open_consultation(session, standard.versions[0])
    comment = make_comment(session, consultation)
    close_consultation(session, consultation)
    sign_in(client, session, "chair@example.org")
    workspace = f"/standards/{standard.code}/workspace"
    data = {
        **data,
        "consultation_id": data["consultation_id"].format(consultation=consultation.id),
        "verdict": "accepted",
        "body": "Because.",
    }
    response = post(session, client, f"{workspace}/answers", data, form_url=workspace)
    assert response.status_code == 303
    assert message in page(client, workspace)
    assert comment.answer_id is None


def test_the_other_actions_through_the_pages(app, session):
    today = registry_today(app)
    board, chair, member = (app.test_client() for _ in range(3))
    sign_in(board, session, "board@example.org", [Role.BOARD_MEMBER], "Bea Board")
    standard = make_standard(session)
    chair_user = make_committee_member(session, email="chair@example.org", name="Cy Chair")
    member_user = make_committee_member(session, email="member@example.org", name="Mo Member")
    make_taskforce(session, standard, chair=chair_user, members=[member_user], starts_on=today)
    sign_in(chair, session, "chair@example.org")
    sign_in(member, session, "member@example.org")
    workspace, desk = "/standards/ETH/workspace", "/board/standards"
    # The Board starts a revision; the member reorders, removes and summarises.
    response = post(session, board, "/board/standards/ETH/revision", {}, form_url=desk)
    assert response.headers["Location"] == workspace
    [_, revision] = standard.versions
    _, second, third = revision.rules
    post(
        session,
        member,
        f"{workspace}/rules/{second.id}/move",
        {"direction": "up"},
        form_url=workspace,
    )
    post(session, member, f"{workspace}/rules/{third.id}/remove", {}, form_url=workspace)
    post(
        session,
        member,
        f"{workspace}/summary",
        {"change_summary": "ETH-3 goes."},
        form_url=workspace,
    )
    assert [rule.code for rule in revision.rules] == ["ETH-2", "ETH-1"]
    assert revision.change_summary == "ETH-3 goes."
    # The Board sends a proposed version back with its reason.
    revision.status = VersionStatus.PROPOSED
    session.flush()
    url = "/board/standards/ETH/publication/decline"
    post(session, board, url, {"reason": "Keep ETH-3."}, form_url=workspace)
    assert revision.status == VersionStatus.REVISING
    # Founding: the chair proposes; the Board approves one and declines the other.
    for kind, code, name in (("specialisation", "elder", "Elder"), ("program_type", "CCQAP", "CC")):
        data = {"kind": kind, "code": code, "name": name, "rationale": "Why."}
        response = post(session, chair, f"{workspace}/founding", data, form_url=workspace)
        assert response.headers["Location"] == f"{workspace}#founding"
    elder, ccqap = session.scalars(select(FoundingProposal).order_by(FoundingProposal.id))
    post(session, board, f"/board/founding-proposals/{elder.id}/approve", {}, form_url=desk)
    url = f"/board/founding-proposals/{ccqap.id}/decline"
    post(session, board, url, {"reason": "Not yet."}, form_url=desk)
    assert (elder.decision, ccqap.decision) == (Decision.ACCEPTED, Decision.DECLINED)
    assert session.get(Specialisation, "elder").name == "Elder"
    # The Board hands the chair to the member and ends the former chair's membership.
    seats = {m.user_id: m for m in session.scalars(select(TaskforceMember))}
    taskforce = "/board/standards/ETH/taskforce"
    response = post(
        session,
        board,
        f"/board/taskforce-members/{seats[member_user.id].id}/chair",
        {},
        form_url=taskforce,
    )
    assert response.headers["Location"] == taskforce
    post(
        session,
        board,
        f"/board/taskforce-members/{seats[chair_user.id].id}/end",
        {},
        form_url=taskforce,
    )
    assert seats[member_user.id].is_chair and seats[chair_user.id].ended_at is not None
    assert chair.get(workspace).status_code == 403


def test_the_board_declines_a_proposal_through_the_pages(app, client, session):
    proposer = make_user(session, email="proposer@example.org")
    proposal = StandardProposal(
        title="T", purpose="P", scope="S", proposed_by=proposer, proposed_at=proposer.created_at
    )
    session.add(proposal)
    session.flush()
    sign_in(client, session, "board@example.org", [Role.BOARD_MEMBER])
    url = f"/board/standard-proposals/{proposal.id}"
    post(session, client, f"{url}/decline", {"reason": ""}, form_url=url)
    assert proposal.decision == Decision.PENDING
    post(session, client, f"{url}/decline", {"reason": "Covered by QAP."}, form_url=url)
    assert (proposal.decision, proposal.decision_reason) == (Decision.DECLINED, "Covered by QAP.")
    assert "Covered by QAP." in page(client, url)


@pytest.mark.parametrize(
    ("who", "answered", "form_shown"),
    [
        ("chair", False, True),
        ("chair", True, False),  # only a hidden comment is left: it needs no answer
        ("board", False, False),  # the Board reads the workspace, it does not answer
    ],
)
def test_the_answer_form_is_for_members_with_shown_comments_to_answer(
    app, client, session, who, answered, form_shown
):
    standard = make_standard(session, published_on=None)
    chair = make_committee_member(session, email="chair@example.org")
    make_taskforce(session, standard, chair=chair, starts_on=registry_today(app))
    consultation = open_consultation(session, standard.versions[0])
    shown = make_comment(session, consultation, body="Say who pays.")
    make_comment(session, consultation, anonymous=True, hidden_reason="Advertising.")
    close_consultation(session, consultation)
    if answered:
        answer = CommentAnswer(
            consultation_id=consultation.id,
            verdict="accepted",
            body="We do.",
            answered_at=shown.created_at,
            answered_by_id=chair.id,
        )
        session.add(answer)
        session.flush()
        shown.answer_id = answer.id
        session.flush()
    sign_in(client, session, f"{who}@example.org", [Role.BOARD_MEMBER] if who == "board" else None)
    text = page(client, f"/standards/{standard.code}/workspace")
    assert "Say who pays." in text and "Advertising." in text
    assert ("Answer the ticked comments" in text) is form_shown
    assert ('name="comment_ids"' in text) is form_shown
