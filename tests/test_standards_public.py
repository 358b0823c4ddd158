"""The public pages of standards: versions and changes, consultations, comments, moderation."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry.accounts.models import Role, User
from registry.clock import local_today
from registry.database import Base, utcnow
from registry.events.models import Event
from registry.events.services import record_event
from registry.mail.models import OutboxMessage
from standards import comments
from standards.changes import Change, rule_changes, word_diff
from standards.models import Consultation, ConsultationComment
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, make_user
from tests.standards_public_factories import (
    RULES_V2,
    add_comment,
    add_version,
    answer,
    make_standard,
    open_consultation,
    seat,
    two_versions,
)

ADDRESS = "198.51.100.23"


def text_of(response) -> str:
    return html.unescape(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    )


def today_of(app):
    with app.app_context():
        return local_today()


def sign_in(client, session, email: str, roles=(Role.MEDIATOR,), name: str = "Pat Person"):
    user = make_user(session, email=email, name=name, roles=roles)
    post_form(client, "/login", {"email": email, "password": PASSWORD})
    return user


@pytest.fixture
def standard(app, session):
    """TST with versions 1 and 2 published, and a draft version 3 in consultation (open)."""
    standard, _first, _second = two_versions(session)
    chair = seat(session, standard, email="chair@example.org", name="Chloe Chair", is_chair=True)
    seat(session, standard, email="member@example.org", name="Mo Member")
    draft = add_version(
        session, standard, 3, [*RULES_V2, ("TST-5", "A secret draft rule never consulted.")]
    )
    today = today_of(app)
    consultation = open_consultation(
        session,
        draft,
        opened_on=today - timedelta(days=3),
        closes_on=today + timedelta(days=10),
        opened_by=chair,
    )
    # The draft changed after the consultation opened: the page shows the consulted text.
    draft.rules[-1].body = "Edited after opening, still private."
    consultation.rules = consultation.rules[:3]
    session.flush()
    return standard


CONSULTATION = "/standards/TST/3/consultations/1"


# -- Pages ---------------------------------------------------------------------------------


def test_the_list_shows_published_standards_and_open_consultations(client, standard):
    text = text_of(client.get("/standards"))
    assert "TST" in text and "Test assessment criteria" in text and "Audit criteria" in text
    assert "Version 2" in text and "since 1 January 2026" in text
    assert "Open for comment until" in text
    # The migrated standards are listed too, in version 1.
    assert "QAP" in text and "COC" in text


def test_the_standard_page(client, session, standard):
    record_event(
        session,
        action="standard.version_published",
        subject_type="standard",
        subject_id=standard.id,
        now=utcnow(),
        data={"version": 2},
    )
    record_event(
        session,
        action="standard.comment_posted",
        subject_type="standard",
        subject_id=standard.id,
        now=utcnow(),
        data={"email": "secret@example.org"},
    )
    session.flush()
    response = client.get("/standards/TST")
    assert response.status_code == 200
    text = text_of(response)
    assert "Say what a fair assessment is." in text and "Assessment programs." in text
    assert "Version in force: version 2" in text
    assert "Assessors declare any conflict of interest in writing" in text
    assert "Chloe Chair (chair)" in text and "Mo Member" in text and "term " in text
    assert "Version 2 was published." in text
    assert "secret@example.org" not in text and "comment_posted" not in text
    assert "No feedback received yet." in text and "0 pieces" not in text
    assert "Public consultation open until" in text
    # A draft's rules are never on the standard's page.
    assert "A secret draft rule" not in text and "Edited after opening" not in text


def test_a_published_version_shows_its_rules_and_changes(client, standard):
    text = text_of(client.get("/standards/TST/1"))
    assert "from 1 January 2025 until 1 January 2026" in text and "replaced by version 2" in text
    assert "This is the first version." in text
    response = client.get("/standards/TST/2")
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "from 1 January 2026; the version in force now" in text
    assert "Conflicts are declared in writing; records are kept." in text
    changes = re.findall(r'<tr class="change-(\w+)">\s*<th scope="row">([\w-]+)</th>', page)
    assert changes == [
        ("unchanged", "TST-1"),
        ("reworded", "TST-2"),
        ("added", "TST-4"),
        ("removed", "TST-3"),
    ]
    assert "<ins>" in page and "<del>" in page
    assert "Candidates may appeal a result within thirty days." in text  # the removed text


@pytest.mark.parametrize(
    "page",
    [
        "/standards/TST/3",
        "/standards/TST/4",
        "/standards/NOPE",
        "/standards/NOPE/1",
        "/standards/TST/3/consultations/2",
    ],
)
def test_drafts_and_unknown_pages_are_not_found(client, standard, page):
    assert client.get(page).status_code == 404


def test_the_diff_is_by_word_and_accessible(app):
    changes = rule_changes([("A", "one two"), ("B", "gone")], [("A", "one three"), ("C", "new")])
    assert [(c.code, c.change) for c in changes] == [
        ("A", Change.REWORDED),
        ("C", Change.ADDED),
        ("B", Change.REMOVED),
    ]
    with app.test_request_context():
        marked = str(
            word_diff("Assessors declare conflicts", "Assessors declare any conflicts <b>")
        )
    assert marked.startswith("Assessors declare <ins>")
    assert "</span>any<span" in marked and "[added: " in marked
    assert "&lt;b&gt;" in marked and "<b>" not in marked  # rule text is escaped


def test_the_diff_marks_only_the_words_that_changed_not_their_punctuation(app):
    with app.test_request_context():
        marked = str(
            word_diff(
                "Candidates show mediation experience, at least 20 mediations",
                "Candidates show mediation experience with evidence, at least 30 mediations",
            )
        )
    hidden = '<span class="visually-hidden">'
    assert marked == (
        "Candidates show mediation experience"
        f" <ins>{hidden}[added: </span>with evidence{hidden}]</span></ins>, at least"
        f" <del>{hidden}[removed: </span>20{hidden}]</span></del>"
        f" <ins>{hidden}[added: </span>30{hidden}]</span></ins> mediations"
    )
    with app.test_request_context():
        # A comma dropped is the only change; the inserted word keeps no leading space.
        assert str(word_diff("one, two", "one two")) == (
            f"one<del>{hidden}[removed: </span>,{hidden}]</span></del> two"
        )
        assert str(word_diff("two", "one two")).startswith(f"<ins>{hidden}[added: </span>one")


# -- Commenting ----------------------------------------------------------------------------


def comment(client, **fields):
    data = {"rule_code": "", "body": "Please say who pays.", "signature": "anonymous", **fields}
    return client.post(
        f"{CONSULTATION}/comments", data={"csrf_token": csrf_token(client, CONSULTATION), **data}
    )


def the_consultation(session) -> Consultation:
    return session.scalars(sa.select(Consultation)).one()


def only_comment(session) -> ConsultationComment:
    session.expire_all()
    return session.scalars(sa.select(ConsultationComment)).one()


def everything_stored(session) -> str:
    """Return every value in every table but the outbox (mail sent is not kept by us), as text."""
    values = []
    for table in Base.metadata.sorted_tables:
        if table.name == OutboxMessage.__tablename__:
            continue
        for row in session.execute(sa.select(table)):
            values.extend(str(value) for value in row)
    return "\n".join(values)


def test_the_consultation_page_shows_the_consulted_draft_and_the_form(client, standard):
    text = text_of(client.get(CONSULTATION))
    assert "The draft as consulted on" in text and "TST-4" in text
    assert "A secret draft rule" not in text and "Edited after opening" not in text
    assert "Post my comment" in text and "Rule TST-2" in text


def test_a_signed_in_comment_is_shown_with_the_account_name(client, session, standard):
    user = sign_in(client, session, "sam@example.org", name="Sam Signed")
    response = comment(client, signature="account", rule_code="TST-2", body="Say 'in writing'.")
    assert response.status_code == 303 and response.headers["Location"] == CONSULTATION
    saved = only_comment(session)
    assert (saved.author_id, saved.rule_code, saved.is_anonymous) == (user.id, "TST-2", False)
    text = text_of(client.get(CONSULTATION))
    assert "Sam Signed" in text and "on rule TST-2" in text and "Say 'in writing'." in text
    event = session.scalars(sa.select(Event).where(Event.action == "standard.comment_posted")).one()
    assert event.subject_id == str(standard.id) and event.actor_id == user.id


def test_a_comment_named_by_email_shows_once_confirmed(client, session, standard):
    response = comment(client, signature="email", name="Erin Email", email="Erin@Example.org")
    assert response.status_code == 303
    assert "Erin" not in text_of(client.get(CONSULTATION))
    saved = only_comment(session)
    assert saved.author_email == "erin@example.org" and saved.confirmed_at is None
    mail = session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.to_address == "erin@example.org")
    ).one()
    link = re.search(r"http://registry.test(/standards/comments/confirm/\S+)", mail.body_text)
    token = link.group(1).rsplit("/", 1)[1]
    assert token not in everything_stored(session) and saved.confirmation_hash
    # Opening the link confirms nothing: a mail scanner may open it; the button confirms.
    opened = client.get(link.group(1))
    assert opened.status_code == 200
    # The page says which consultation and which comment the button confirms.
    shown = text_of(opened)
    assert "draft version 3" in shown and "Round 1" in shown and "TST" in shown
    assert saved.body in shown
    assert only_comment(session).confirmed_at is None
    confirmed = client.post(link.group(1), data={"csrf_token": csrf_token(client, link.group(1))})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == CONSULTATION
    assert only_comment(session).confirmed_at is not None
    # A link works once: opened again, it answers 404 and says why.
    again = client.get(link.group(1))
    assert again.status_code == 404 and "has been used" in text_of(again)
    text = text_of(client.get(CONSULTATION))
    assert "Erin Email" in text and "erin@example.org" not in text


def test_a_wrong_confirmation_link_is_refused(client, session, standard):
    url = "/standards/comments/confirm/not-a-token"
    response = client.get(url)
    assert response.status_code == 404 and "not valid" in text_of(response)
    assert "Confirm my comment" not in text_of(response)
    response = client.post(url, data={"csrf_token": csrf_token(client, CONSULTATION)})
    assert response.status_code == 404 and "not valid" in text_of(response)


def test_an_anonymous_comment_keeps_nothing_identifying(app, session, standard):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    response = comment(client, name="Whistle Blower", email="whistle@example.org")
    assert response.status_code == 303
    saved = only_comment(session)
    assert saved.is_anonymous
    assert (saved.author_id, saved.author_name, saved.author_email) == (None, None, None)
    stored = everything_stored(session)
    for identifying in (ADDRESS, "Whistle Blower", "whistle@example.org"):
        assert identifying not in stored
    event = session.scalars(sa.select(Event).where(Event.action == "standard.comment_posted")).one()
    assert event.actor_id is None
    assert "Anonymous" in text_of(client.get(CONSULTATION))


def test_a_signed_in_person_may_comment_anonymously(client, session, standard):
    sign_in(client, session, "sam@example.org", name="Sam Signed")
    assert comment(client, signature="anonymous").status_code == 303
    saved = only_comment(session)
    assert saved.is_anonymous and saved.author_id is None
    event = session.scalars(sa.select(Event).where(Event.action == "standard.comment_posted")).one()
    assert event.actor_id is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": ""}, "Write your comment."),
        ({"body": "x" * 5001}, "At most 5000 characters."),
        ({"rule_code": "TST-9"}, "Not a valid choice"),
        ({"signature": "account"}, "Not a valid choice"),  # not signed in
        ({"signature": "email", "name": "Erin"}, "Give an e-mail address"),
        ({"signature": "email", "name": "Erin", "email": "not-an-address"}, "not a valid e-mail"),
        ({"signature": "email", "email": "erin@example.org"}, "Your name cannot be empty"),
    ],
)
def test_bad_comments_are_refused(client, session, standard, fields, message):
    response = comment(client, **fields)
    assert response.status_code == 422
    assert message in text_of(response)
    assert session.scalar(sa.select(sa.func.count(ConsultationComment.id))) == 0


def test_a_closed_consultation_refuses_comments_and_shows_its_report(
    app, client, session, standard
):
    consultation = the_consultation(session)
    consultation.closes_on = today_of(app) - timedelta(days=1)
    session.flush()
    token = csrf_token(client, "/open-feedback")
    response = client.post(
        f"{CONSULTATION}/comments",
        data={"csrf_token": token, "rule_code": "", "body": "Late.", "signature": "anonymous"},
    )
    assert response.status_code == 422
    assert "This consultation is closed" in text_of(response)
    assert "Post my comment" not in text_of(client.get(CONSULTATION))


def test_comments_are_rate_limited(app, client, session, standard, monkeypatch):
    monkeypatch.setitem(app.config, "STANDARD_COMMENT_RATE_LIMIT", "2 per hour")
    assert comment(client).status_code == 303
    assert comment(client, body="").status_code == 422  # refused input costs nothing
    assert comment(client).status_code == 303
    response = comment(client)
    assert response.status_code == 429 and "Too many comments" in text_of(response)


# -- Moderation ----------------------------------------------------------------------------


def hide(client, comment_id: int, reason: str = "Names a person."):
    url = f"{CONSULTATION}/comments/{comment_id}/hide"
    return post_form(client, url, {f"hide-{comment_id}-reason": reason}, form_url=CONSULTATION)


@pytest.mark.parametrize(
    ("who", "roles"),
    [
        ("chair@example.org", None),
        ("support@example.org", [Role.SUPPORT]),
        ("ed@example.org", [Role.EXECUTIVE_DIRECTOR]),
        ("admin@example.org", [Role.ADMINISTRATOR]),
    ],
)
def test_the_chair_and_staff_hide_a_comment_with_a_reason(client, session, standard, who, roles):
    target = add_comment(session, the_consultation(session), "Dr X is corrupt.")
    if roles:
        make_user(session, email=who, roles=roles)
    post_form(client, "/login", {"email": who, "password": PASSWORD})
    response = hide(client, target.id)
    assert response.status_code == 303 and response.headers["Location"] == CONSULTATION
    session.refresh(target)
    assert target.hidden_at is not None and target.hidden_reason == "Names a person."
    assert session.get(ConsultationComment, target.id) is not None  # never deleted
    event = session.scalars(sa.select(Event).where(Event.action == "standard.comment_hidden")).one()
    assert event.subject_type == "standard" and event.reason == "Names a person."
    # The moderator still reads it; the public reads only the reason.
    assert "Dr X is corrupt." in text_of(client.get(CONSULTATION))
    public_text = text_of(client.application.test_client().get(CONSULTATION))
    assert "Hidden by the moderator: Names a person." in public_text
    assert "Dr X is corrupt." not in public_text


def test_a_taskforce_member_reads_hidden_comments_but_may_not_hide(client, session, standard):
    target = add_comment(session, the_consultation(session), "Dr X is corrupt.")
    target.hidden_at, target.hidden_reason = utcnow(), "Names a person."
    session.flush()
    post_form(client, "/login", {"email": "member@example.org", "password": PASSWORD})
    assert "Dr X is corrupt." in text_of(client.get(CONSULTATION))
    other = add_comment(session, the_consultation(session), "Fine.")
    assert hide(client, other.id).status_code == 403
    assert other.hidden_at is None


@pytest.mark.parametrize("roles", [[Role.MEDIATOR], [Role.BOARD_MEMBER], [Role.COMMITTEE_MEMBER]])
def test_others_may_not_hide(client, session, standard, roles):
    target = add_comment(session, the_consultation(session), "Fine.")
    sign_in(client, session, "other@example.org", roles=roles)
    assert hide(client, target.id).status_code == 403
    assert target.hidden_at is None


def test_hiding_needs_a_reason_and_happens_once(client, session, standard):
    target = add_comment(session, the_consultation(session), "Fine.")
    post_form(client, "/login", {"email": "chair@example.org", "password": PASSWORD})
    hide(client, target.id, reason="")
    session.refresh(target)
    assert target.hidden_at is None
    hide(client, target.id)
    session.refresh(target)
    first = target.hidden_at
    response = hide(client, target.id, reason="Again.")
    assert response.status_code == 303
    assert "already hidden" in text_of(client.get(CONSULTATION))
    session.refresh(target)
    assert target.hidden_at == first and target.hidden_reason == "Names a person."


# -- The consultation report ---------------------------------------------------------------


def test_the_report_groups_comments_by_answer(client, session, standard):
    consultation = the_consultation(session)
    chair = session.scalars(sa.select(User).where(User.email == "chair@example.org")).one()
    a = add_comment(session, consultation, "Say who pays.", rule_code="TST-2")
    b = add_comment(session, consultation, "Who pays is unclear.")
    c = add_comment(session, consultation, "Keep records ten years.", rule_code="TST-4")
    add_comment(session, consultation, "Nothing to add.")
    hidden = add_comment(session, consultation, "Dr X is corrupt.")
    hidden.hidden_at, hidden.hidden_reason = utcnow(), "Names a person."
    pending = ConsultationComment(
        consultation=consultation,
        body="Unconfirmed words.",
        created_at=utcnow(),
        author_name="Erin",
        author_email="erin@example.org",
    )
    session.add(pending)
    answer(session, consultation, [a, b], verdict="accepted", body="We say who pays.", by=chair)
    answer(
        session,
        consultation,
        [c, hidden],
        verdict="not_accepted",
        body="Five is the law.",
        by=chair,
    )
    consultation.closed_at = utcnow()
    session.flush()
    response = client.get(CONSULTATION)
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "Consultation report" in text and "Post my comment" not in text
    groups = page.split('class="panel answer-group"')[1:]
    assert (
        "Accepted" in groups[0]
        and "Say who pays." in groups[0]
        and "Who pays is unclear." in groups[0]
    )
    assert "Not accepted" in groups[1] and "Keep records ten years." in groups[1]
    assert "Hidden by the moderator:" in groups[1] and "Dr X is corrupt." not in page
    unanswered = text.split("Comments without an answer")[1]
    assert "Nothing to add." in unanswered and "Say who pays." not in unanswered
    assert "Unconfirmed words." not in text


def test_the_report_lists_hidden_comments_apart_from_those_without_an_answer(
    client, session, standard
):
    consultation = the_consultation(session)
    chair = session.scalars(sa.select(User).where(User.email == "chair@example.org")).one()
    answered = add_comment(session, consultation, "Say who pays.")
    add_comment(session, consultation, "Nothing to add.")
    hidden = add_comment(session, consultation, "Dr X is corrupt.")
    hidden.hidden_at, hidden.hidden_reason = utcnow(), "Names a person."
    consultation.closed_at = utcnow()
    session.flush()
    answer(session, consultation, [answered], verdict="accepted", body="We do.", by=chair)
    text = text_of(client.get(CONSULTATION))
    without_answer = text.split("Comments without an answer")[1].split(
        "Comments hidden by moderation"
    )[0]
    assert "Nothing to add." in without_answer and "Names a person." not in without_answer
    assert "Names a person." in text.split("Comments hidden by moderation")[1]
    assert "Dr X is corrupt." not in text

    # Once the shown comments are all answered, nothing is listed as waiting for an answer.
    session.delete(
        session.scalars(
            sa.select(ConsultationComment).where(ConsultationComment.body == "Nothing to add.")
        ).one()
    )
    session.flush()
    text = text_of(client.get(CONSULTATION))
    assert "Comments without an answer" not in text and "Comments hidden by moderation" in text


def test_a_published_version_links_its_consultation_report(app, client, session):
    _standard, _first, second = two_versions(session)
    opener = make_user(session, email="opener@example.org")
    open_consultation(
        session,
        second,
        opened_on=today_of(app) - timedelta(days=30),
        closes_on=today_of(app) - timedelta(days=5),
        opened_by=opener,
        closed=True,
    )
    page = client.get("/standards/TST/2").get_data(as_text=True)
    assert 'href="/standards/TST/2/consultations/1"' in page
    assert client.get("/standards/TST/2/consultations/1").status_code == 200


# -- Role and route --------------------------------------------------------------------------

PUBLIC_PAGES = [
    "/standards",
    "/standards/TST",
    "/standards/TST/2",
    CONSULTATION,
]


@pytest.mark.parametrize("role", [None, *Role])
@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_public_pages_are_open_to_everyone(client, session, standard, role, page):
    if role is not None:
        sign_in(client, session, "someone@example.org", roles=[role])
    assert client.get(page).status_code == 200


@pytest.mark.parametrize("role", [None, *Role])
def test_a_bogus_confirmation_link_is_404_for_everyone(client, session, standard, role):
    if role is not None:
        sign_in(client, session, "someone@example.org", roles=[role])
    assert client.get("/standards/comments/confirm/some-token").status_code == 404


@pytest.mark.parametrize("role", [None, *Role])
def test_hiding_is_for_the_chair_and_staff_only(client, session, standard, role):
    target = add_comment(session, the_consultation(session), "Fine.")
    if role is None:
        response = hide(client, target.id)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        return
    sign_in(client, session, "someone@example.org", roles=[role])
    expected = 303 if role in (Role.SUPPORT, Role.EXECUTIVE_DIRECTOR, Role.ADMINISTRATOR) else 403
    assert hide(client, target.id).status_code == expected


def test_hiding_a_comment_of_another_consultation_is_not_found(client, session, standard):
    post_form(client, "/login", {"email": "chair@example.org", "password": PASSWORD})
    assert hide(client, 0).status_code == 404


# -- Services ------------------------------------------------------------------------------


def test_a_comment_confirmed_after_closing_is_not_published(app, ctx, session, standard):
    consultation = the_consultation(session)
    today = today_of(app)
    posted = comments.post_comment(
        session,
        consultation,
        body="Late to confirm.",
        rule_code=None,
        identity=comments.Identity(name="Erin", email="erin@example.org"),
        today=today,
        now=utcnow(),
    )
    consultation.closed_at = utcnow()
    with pytest.raises(comments.CommentError, match="closed before this comment was confirmed"):
        comments.confirm_comment(session, posted.token, today=today, now=utcnow())
    assert posted.comment.confirmed_at is None and not posted.comment.is_shown


def test_a_consultation_not_open_yet_refuses_comments(app, ctx, session, standard):
    consultation = the_consultation(session)
    today = today_of(app)
    consultation.opened_on = today + timedelta(days=1)
    with pytest.raises(comments.CommentError, match="not open yet"):
        comments.post_comment(
            session,
            consultation,
            body="Early.",
            rule_code=None,
            identity=comments.Identity(),
            today=today,
            now=utcnow(),
        )


def test_only_moderators_hide_through_the_service(app, ctx, session, standard):
    target = add_comment(session, the_consultation(session), "Fine.")
    member = session.scalars(sa.select(User).where(User.email == "member@example.org")).one()
    with pytest.raises(PermissionError):
        comments.hide_comment(
            session, target, reason="No.", actor=member, today=today_of(app), now=utcnow()
        )
    assert target.hidden_at is None


def test_a_consultation_due_to_open_later_is_not_public_yet(app, client, session, standard):
    consultation = the_consultation(session)
    consultation.opened_on = today_of(app) + timedelta(days=1)
    consultation.closes_on = today_of(app) + timedelta(days=20)
    session.flush()
    assert client.get(CONSULTATION).status_code == 404
    assert CONSULTATION not in client.get("/standards/TST").get_data(as_text=True)
    assert "Open for comment" not in text_of(client.get("/standards"))


def test_the_taskforce_finds_its_feedback_inbox_from_the_standard(client, session, standard):
    assert "Read the feedback sent to you" not in text_of(client.get("/standards/TST"))
    post_form(client, "/login", {"email": "member@example.org", "password": PASSWORD})
    assert "Read the feedback sent to you" in text_of(client.get("/standards/TST"))


def test_the_chair_may_still_hide_a_comment_in_the_report(app, client, session, standard):
    consultation = the_consultation(session)
    target = add_comment(session, consultation, "Dr X is corrupt.")
    consultation.closed_at = utcnow()
    session.flush()
    post_form(client, "/login", {"email": "chair@example.org", "password": PASSWORD})
    assert "Hide this comment" in text_of(client.get(CONSULTATION))
    assert hide(client, target.id).status_code == 303
    session.refresh(target)
    assert target.hidden_reason == "Names a person."


def test_pages_keep_the_language_of_the_address(client, session, standard):
    response = client.post(
        f"/fr{CONSULTATION}/comments",
        data={
            "csrf_token": csrf_token(client, f"/fr{CONSULTATION}"),
            "rule_code": "",
            "body": "Bien.",
            "signature": "anonymous",
        },
    )
    assert response.headers["Location"] == f"/fr{CONSULTATION}"


def test_a_new_standard_is_public_once_its_first_draft_is_consulted(app, client, session):
    new = make_standard(session, code="NEW", title="New specialisation criteria")
    draft = add_version(session, new, 1, [("NEW-1", "A first rule.")])
    assert client.get("/standards/NEW").status_code == 404  # a draft alone is private
    assert "NEW" not in text_of(client.get("/standards"))
    opener = make_user(session, email="opener@example.org")
    today = today_of(app)
    open_consultation(
        session, draft, opened_on=today, closes_on=today + timedelta(days=30), opened_by=opener
    )
    listed = text_of(client.get("/standards"))
    assert "New specialisation criteria" in listed and "Not published yet" in listed
    text = text_of(client.get("/standards/NEW"))
    assert "No version of this standard is published yet" in text
    assert "A first rule." not in text  # only on the consultation's page
    assert client.get("/standards/NEW/1").status_code == 404
    assert "A first rule." in text_of(client.get("/standards/NEW/1/consultations/1"))


@pytest.mark.parametrize(
    ("fields", "marked", "message"),
    [
        ({"name": "", "email": "erin@example.org"}, 'id="name"', "cannot be empty"),
        ({"name": "Erin", "email": ""}, 'id="email"', "Give an e-mail address"),
        ({"name": "Erin", "email": "erin@"}, 'id="email"', "not a valid"),
    ],
)
def test_a_missing_name_or_bad_address_marks_its_field(
    client, session, standard, fields, marked, message
):
    response = comment(client, signature="email", **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text_of(response)
    invalid = [
        tag
        for tag in re.findall(r"<(?:input|textarea|select)[^>]*>", page)
        if "aria-invalid" in tag
    ]
    assert len(invalid) == 1 and marked in invalid[0]
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsultationComment)) == 0
