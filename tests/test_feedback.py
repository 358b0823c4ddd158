"""Feedback requests, one-time links, the anonymous questionnaire and the expiry sweep."""

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from registry.accounts.models import Role
from registry.clock import local_today
from registry.events.models import Event
from registry.feedback import services
from registry.feedback.jobs import expire_feedback_links
from registry.feedback.models import (
    DIMENSION_CODES,
    FeedbackAnswer,
    FeedbackInvitation,
    FeedbackRequest,
    FeedbackScore,
)
from registry.mail.models import MailStatus, OutboxMessage
from registry.mail.services import REDACTED_ADDRESS
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, make_mediator, make_user

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
MONTH = date(2026, 5, 1)
PARTIES = ["ana@example.org", "ben@example.net"]
SCORES = dict.fromkeys(DIMENSION_CODES, 4)
LINK = re.compile(r"/feedback/([A-Za-z0-9_-]{43})")


# -- Helpers ---------------------------------------------------------------------------------


def mediator_account(session, email="mia@example.org"):
    """Return a mediator account with its profile."""
    user = make_user(session, email=email, name="Mia Mediator", roles=[Role.MEDIATOR])
    return make_mediator(session, name="Mia Mediator", email=email, user=user)


def ask(session, mediator, emails=PARTIES, *, month=MONTH, kind="commercial", now=NOW):
    """File a feedback request through the service."""
    return services.request_feedback(
        session, mediator, month=month, kind=kind, emails=emails, now=now, actor=mediator.user
    )


def token_for(session, address):
    """Return the link secret e-mailed to ``address`` (read from the outbox)."""
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == address))
    return LINK.search(message.body_text).group(1)


def answer(session, token, scores=SCORES, *, now=NOW + timedelta(days=1), **texts):
    """Submit answers through ``token``."""
    return services.submit_answer(
        session,
        token,
        scores=scores,
        went_well=texts.get("went_well", ""),
        could_improve=texts.get("could_improve", ""),
        today=now.date(),
        now=now,
    )


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(session, obj):
    session.refresh(obj)
    return obj


def sign_in(client, email):
    post_form(client, "/login", {"email": email, "password": PASSWORD})


# -- Requests ---------------------------------------------------------------------------------


def test_request_mails_one_link_per_party_and_keeps_only_its_hash(session, ctx):
    mediator = mediator_account(session)
    given = services.split_addresses(" Ana@Example.org,ana@example.org\n\n ben@example.net; ")
    request = ask(session, mediator, given)

    invitations = request.invitations
    assert [i.email for i in invitations] == PARTIES
    for invitation in invitations:
        token = token_for(session, invitation.email)
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.expires_at == NOW + timedelta(days=30)
        message = session.get(OutboxMessage, invitation.message_id)
        assert message.to_address == invitation.email
        assert "Mia Mediator asks for your feedback" in message.subject
        assert "Commercial, May 2026" in message.body_text
        assert "anonymous" in message.body_text
        assert "works once, until 14 July 2026" in message.body_text
        assert f"http://registry.test/feedback/{token}" in message.body_text
    event = session.scalar(select(Event).where(Event.action == "feedback.requested"))
    assert event.subject_id == str(request.id)
    assert event.data["invitations"] == 2
    assert "@" not in json.dumps(event.data)


BAD_REQUESTS = {
    "future month": ({"month": date(2026, 7, 1)}, "cannot be in the future"),
    "too old": ({"month": date(2023, 5, 1)}, "more than 36 months ago"),
    "no address": ({"emails": [" ", ""]}, "at least one party"),
    "eleven addresses": (
        {"emails": [f"party{n}@example.org" for n in range(11)]},
        "at most 10 parties",
    ),
    "invalid address": ({"emails": ["ana@example.org", "not-an-address"]}, "not a valid"),
    "own address": ({"emails": ["ana@example.org", "MIA@example.org"]}, "your own address"),
    "unknown kind": ({"kind": "maritime"}, "kind of mediation"),
}


@pytest.mark.parametrize(("given", "message"), BAD_REQUESTS.values(), ids=BAD_REQUESTS)
def test_bad_request_input_is_refused_and_nothing_written(session, ctx, given, message):
    mediator = mediator_account(session)
    mail_before = count(session, OutboxMessage)
    with pytest.raises(services.FeedbackError, match=message):
        ask(session, mediator, **given)
    assert count(session, FeedbackRequest) == 0
    assert count(session, FeedbackInvitation) == 0
    assert count(session, OutboxMessage) == mail_before
    assert count(session, Event, Event.action == "feedback.requested") == 0


def test_the_oldest_allowed_month_is_accepted(session, ctx):
    request = ask(session, mediator_account(session), month=date(2023, 6, 1))
    assert request.mediation_month == date(2023, 6, 1)


def test_open_links_are_capped_per_mediator(session, ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_MAX_OPEN_INVITATIONS", 3)
    mediator = mediator_account(session)
    ask(session, mediator)
    with pytest.raises(services.FeedbackError, match="2 open feedback links"):
        ask(session, mediator, ["cleo@example.org", "dan@example.org"])
    assert count(session, FeedbackInvitation) == 2
    ask(session, mediator, ["cleo@example.org"])
    assert count(session, FeedbackInvitation) == 3


# -- Answers ----------------------------------------------------------------------------------


def test_a_link_answers_once_and_its_address_and_mail_are_removed(session, ctx):
    request = ask(session, mediator_account(session))
    token = token_for(session, "ana@example.org")
    invitation = request.invitations[0]

    given = answer(session, token, {**SCORES, "overall": 5}, went_well="Calm and clear.")

    assert given.request_id == request.id
    assert given.submitted_on == date(2026, 6, 16)
    assert given.went_well == "Calm and clear."
    assert given.score("overall") == 5 and given.score("listening") == 4
    fresh(session, invitation)
    assert invitation.email is None
    assert invitation.answered_at == invitation.closed_at == NOW + timedelta(days=1)
    message = fresh(session, session.get(OutboxMessage, invitation.message_id))
    assert message.to_address == REDACTED_ADDRESS
    assert token not in message.body_text and "@" not in message.body_text
    assert "feedback link it carried was used or expired" in message.body_text
    assert message.status == MailStatus.WITHDRAWN  # still queued: withdrawn, never sent
    assert "Withdrawn before sending" in message.last_error
    event = session.scalar(select(Event).where(Event.action == "feedback.answered"))
    assert event.subject_type == "feedback_request"
    assert event.subject_id == str(request.id)

    with pytest.raises(services.InvalidLinkError):
        answer(session, token)
    assert count(session, FeedbackAnswer) == 1
    assert count(session, FeedbackScore) == len(DIMENSION_CODES)
    other = fresh(session, request.invitations[1])
    assert other.email == "ben@example.net" and other.closed_at is None


def test_a_sent_message_keeps_its_status_when_redacted(session, ctx):
    request = ask(session, mediator_account(session))
    message = session.get(OutboxMessage, request.invitations[0].message_id)
    message.status, message.sent_at = MailStatus.SENT, NOW
    session.flush()
    answer(session, token_for(session, "ana@example.org"))
    fresh(session, message)
    assert (message.status, message.to_address) == (MailStatus.SENT, REDACTED_ADDRESS)
    assert message.last_error is None


def test_the_close_is_conditional_so_a_double_submit_counts_once(session, ctx, monkeypatch):
    ask(session, mediator_account(session))
    token = token_for(session, "ana@example.org")
    found = services.find_open_invitation

    def overtaken(session, token, now):
        """Find the link open, then let a concurrent submit close it before this one does."""
        invitation = found(session, token, now)
        session.execute(
            sa.update(FeedbackInvitation)
            .where(FeedbackInvitation.id == invitation.id)
            .values(closed_at=now, answered_at=now, email=None)
            .execution_options(synchronize_session=False)
        )
        return invitation

    monkeypatch.setattr(services, "find_open_invitation", overtaken)
    with pytest.raises(services.InvalidLinkError):
        answer(session, token)
    assert count(session, FeedbackAnswer) == 0
    assert count(session, Event, Event.action == "feedback.answered") == 0


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well-formed, unknown
        "short",
        "A" * 44,
        "A" * 42 + "=",
        "\x00" * 43,  # PostgreSQL refuses NUL in a parameter: never sent
        "A" * 42 + "\x00",
    ],
)
def test_forged_or_malformed_links_are_refused(session, ctx, token):
    ask(session, mediator_account(session))
    with pytest.raises(services.InvalidLinkError, match="not valid"):
        answer(session, token)
    assert count(session, FeedbackAnswer) == 0


BAD_SCORES = {
    "zero": {**SCORES, "overall": 0},
    "six": {**SCORES, "overall": 6},
    "missing dimension": {code: 4 for code in DIMENSION_CODES[1:]},
    "not a number": {**SCORES, "listening": "five"},
    "a digit string": {**SCORES, "listening": "4"},
    "a boolean": {**SCORES, "listening": True},
    "unknown dimension": {**SCORES, "charisma": 5},
}


@pytest.mark.parametrize("scores", BAD_SCORES.values(), ids=BAD_SCORES)
def test_answers_outside_the_scale_are_refused_and_nothing_written(session, ctx, scores):
    request = ask(session, mediator_account(session))
    token = token_for(session, "ana@example.org")
    with pytest.raises(services.FeedbackError):
        answer(session, token, scores)
    assert count(session, FeedbackAnswer) == 0
    assert count(session, FeedbackScore) == 0
    invitation = fresh(session, request.invitations[0])
    assert invitation.closed_at is None and invitation.email == "ana@example.org"
    assert services.find_open_invitation(session, token, NOW).id == invitation.id


def test_overlong_comments_are_refused(session, ctx):
    ask(session, mediator_account(session))
    with pytest.raises(services.FeedbackError, match="limit is 2000"):
        answer(session, token_for(session, "ana@example.org"), could_improve="x" * 2001)
    assert count(session, FeedbackAnswer) == 0


# -- Expiry ---------------------------------------------------------------------------------


def test_expiry_sweep_closes_due_links_once(session, ctx):
    request = ask(session, mediator_account(session))  # links expire 2026-07-15 10:00 UTC
    answered_token = token_for(session, "ana@example.org")
    open_token = token_for(session, "ben@example.net")
    answer(session, answered_token)
    ben = request.invitations[1]

    assert expire_feedback_links(session, date(2026, 7, 14), NOW) == {
        "expired": 0,
        "messages_redacted": 0,
    }
    assert fresh(session, ben).email == "ben@example.net"
    assert services.find_open_invitation(session, open_token, datetime(2026, 7, 14, tzinfo=UTC))

    swept_at = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)
    assert expire_feedback_links(session, date(2026, 7, 15), swept_at) == {
        "expired": 1,
        "messages_redacted": 1,
    }
    session.expire_all()
    assert ben.email is None and ben.closed_at == swept_at and ben.answered_at is None
    message = session.get(OutboxMessage, ben.message_id)
    assert message.to_address == REDACTED_ADDRESS and open_token not in message.body_text
    with pytest.raises(services.InvalidLinkError):
        services.find_open_invitation(session, open_token, swept_at)
    event = session.scalar(select(Event).where(Event.action == "feedback.links_expired"))
    assert (event.subject_id, event.data["expired"]) == (str(request.id), 1)

    assert expire_feedback_links(session, date(2026, 7, 15), swept_at) == {
        "expired": 0,
        "messages_redacted": 0,
    }
    assert count(session, Event, Event.action == "feedback.links_expired") == 1


def test_a_link_is_refused_once_past_its_expiry_even_before_the_sweep(session, ctx):
    ask(session, mediator_account(session))
    with pytest.raises(services.InvalidLinkError):
        answer(session, token_for(session, "ana@example.org"), now=NOW + timedelta(days=30))


def test_sweep_redacts_a_message_that_was_being_sent_when_its_link_closed(session, ctx):
    request = ask(session, mediator_account(session))
    message = session.get(OutboxMessage, request.invitations[0].message_id)
    message.status, message.claimed_at, message.attempts = MailStatus.SENDING, NOW, 1
    session.flush()

    answer(session, token_for(session, "ana@example.org"))
    assert fresh(session, message).to_address == "ana@example.org"  # left to the sender

    message.status, message.sent_at = MailStatus.SENT, NOW
    session.flush()
    summary = expire_feedback_links(session, date(2026, 6, 17), NOW + timedelta(days=2))
    assert summary == {"expired": 0, "messages_redacted": 1}
    assert fresh(session, message).to_address == REDACTED_ADDRESS
    assert message.status == MailStatus.SENT


# -- Anonymity --------------------------------------------------------------------------------


def test_an_answer_has_no_column_pointing_at_a_link_or_an_address(session):
    inspector = sa.inspect(session.connection())
    columns = {c["name"] for c in inspector.get_columns("feedback_answers")}
    assert not {name for name in columns if re.search("invitation|email|token|message", name)}
    referred = {fk["referred_table"] for fk in inspector.get_foreign_keys("feedback_answers")}
    assert referred == {"mediators", "feedback_requests", "feedback_digests"}
    assert not {c.name for c in FeedbackAnswer.__table__.columns} - columns


def test_the_event_log_holds_no_address_or_secret(session, ctx):
    request = ask(session, mediator_account(session))
    tokens = [token_for(session, address) for address in PARTIES]
    answer(session, tokens[0])
    expire_feedback_links(session, date(2026, 8, 1), NOW + timedelta(days=47))
    events = session.scalars(select(Event).where(Event.action.startswith("feedback."))).all()
    assert {e.action for e in events} == {
        "feedback.requested",
        "feedback.answered",
        "feedback.links_expired",
    }
    logged = json.dumps([[e.subject_id, e.reason, e.data] for e in events])
    secrets_ = [*PARTIES, *tokens, *(i.token_hash for i in request.invitations)]
    assert not [value for value in secrets_ if value in logged]
    assert "@" not in logged


# -- Pages ----------------------------------------------------------------------------------


def cells(response):
    """Return the numbers of the requests table, row by row."""
    text = response.get_data(as_text=True)
    return [
        [int(n) for n in re.findall(r'<td class="num"[^>]*>(\d+)</td>', row)]
        for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", text, re.S)
    ]


def test_mediator_page_shows_counts_never_answers_or_addresses(client, session, ctx):
    mediator = mediator_account(session)
    request = ask(session, mediator, [*PARTIES, "cleo@example.org"], now=datetime.now(UTC))
    answer(
        session,
        token_for(session, "ana@example.org"),
        now=datetime.now(UTC),
        went_well="UNIQUE-PRAISE-TEXT",
        could_improve="UNIQUE-CRITIQUE-TEXT",
    )
    ben = request.invitations[1]
    ben.expires_at = datetime.now(UTC) - timedelta(minutes=1)  # expired, not swept yet
    ben.created_at = ben.expires_at - timedelta(days=30)
    session.flush()
    sign_in(client, "mia@example.org")

    response = client.get("/my/feedback")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert cells(response) == [[3, 1, 1, 1]]
    assert "Commercial" in text and "May 2026" in text
    assert "1</strong> answer waiting" in text
    assert "at least 3 answers" in text
    for secret in ("UNIQUE-PRAISE-TEXT", "UNIQUE-CRITIQUE-TEXT", *PARTIES, "cleo@example.org"):
        assert secret not in text
    assert "You have no Feedback Digest yet" in text


def test_mediator_without_profile_is_sent_to_create_one(client, session):
    make_user(session, email="new@example.org", roles=[Role.MEDIATOR])
    sign_in(client, "new@example.org")
    response = client.get("/my/feedback")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Create your profile first" in text
    assert 'href="/my/profile"' in text
    assert "Send feedback links" not in text


def this_month(app) -> str:
    """Return the registry's current month as YYYY-MM."""
    with app.app_context():
        return local_today().strftime("%Y-%m")


def test_full_flow_request_link_answer_thanks(app, client, session):
    mediator_account(session)
    sign_in(client, "mia@example.org")
    response = post_form(
        client,
        "/my/feedback/requests",
        {"month": this_month(app), "kind": "family", "emails": "ana@example.org\nben@example.net"},
        form_url="/my/feedback",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/my/feedback"
    page = client.get("/my/feedback").get_data(as_text=True)
    assert "Feedback links are on their way to 2 parties." in page
    assert cells(client.get("/my/feedback")) == [[2, 0, 2, 0]]

    link = "/feedback/" + token_for(session, "ana@example.org")
    party = app.test_client()
    form = party.get(link)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert form.headers["Cache-Control"] == "no-store"
    text = form.get_data(as_text=True)
    assert '<meta name="robots" content="noindex">' in text
    assert "Mia Mediator" in text and "Family" in text
    assert "never sees your individual answers" in text
    assert text.count("<fieldset") == len(DIMENSION_CODES)
    assert 'name="score_overall" required type="radio" value="5"' in text
    assert "Strongly agree" in text

    answers = {f"score_{code}": "5" for code in DIMENSION_CODES}
    sent = party.post(
        link,
        data={"csrf_token": csrf_token(party, link), **answers, "went_well": "Patient."},
    )
    assert sent.status_code == 303
    assert sent.headers["Location"] == "/feedback/thanks"
    thanks = party.get("/feedback/thanks")
    assert thanks.status_code == 200
    assert "Thank you for your feedback" in thanks.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(FeedbackAnswer.went_well)) == "Patient."

    again = party.get(link)
    assert again.status_code == 404
    assert services.INVALID_LINK in again.get_data(as_text=True)
    assert cells(client.get("/my/feedback")) == [[2, 1, 1, 0]]


def test_questionnaire_with_missing_answers_is_shown_again(app, client, session, ctx):
    ask(session, mediator_account(session), now=datetime.now(UTC))
    link = "/feedback/" + token_for(session, "ana@example.org")
    answers = {f"score_{code}": "3" for code in DIMENSION_CODES[1:]}
    answers["went_well"] = "KEEP-THIS-TEXT"
    response = client.post(link, data={"csrf_token": csrf_token(client, link), **answers})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose one answer." in text
    assert "KEEP-THIS-TEXT" in text
    assert '<input checked id="score_listening-2"' in text  # the given answers are kept
    assert count(session, FeedbackAnswer) == 0


@pytest.mark.parametrize("kind", ["unknown", "malformed", "nul", "used", "expired"])
def test_every_invalid_link_gets_the_same_page(client, session, ctx, kind):
    request = ask(session, mediator_account(session), now=datetime.now(UTC))
    token = token_for(session, "ana@example.org")
    if kind == "used":
        answer(session, token, now=datetime.now(UTC))
    elif kind == "expired":
        expire_feedback_links(session, local_today() + timedelta(days=31), datetime.now(UTC))
    link = {
        "unknown": "/feedback/" + "B" * 43,
        "malformed": "/feedback/not-a-token!",
        "nul": "/feedback/" + "A" * 42 + "%00",
    }.get(kind, "/feedback/" + token)
    response = client.get(link)
    assert response.status_code == 404
    assert services.INVALID_LINK in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert request.id is not None


def test_request_form_refusal_is_shown_and_nothing_written(client, session):
    mediator_account(session)
    sign_in(client, "mia@example.org")
    response = post_form(
        client,
        "/my/feedback/requests",
        {"month": "2999-01", "kind": "family", "emails": "ana@example.org"},
        form_url="/my/feedback",
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "cannot be in the future" in text
    assert "ana@example.org" in text  # the form keeps what was typed
    assert count(session, FeedbackRequest) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"month": "May 2026", "kind": "family"}, "Enter the month as YYYY-MM"),
        ({"month": "", "kind": "family"}, "Enter the month of the mediation."),
        ({"kind": ""}, "Choose the kind of mediation."),
        ({"emails": ""}, "at least one party"),
    ],
)
def test_request_form_checks_its_fields(app, client, session, data, message):
    mediator_account(session)
    sign_in(client, "mia@example.org")
    form = {"month": this_month(app), "kind": "family", "emails": "ana@example.org", **data}
    response = post_form(client, "/my/feedback/requests", form, form_url="/my/feedback")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(session, FeedbackRequest) == 0


def test_questionnaire_is_rate_limited(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_LINK_RATE_LIMIT", "3 per minute")
    responses = [client.get("/feedback/" + "C" * 43) for _ in range(4)]
    assert [r.status_code for r in responses] == [404, 404, 404, 429]
    assert responses[-1].headers["Cache-Control"] == "no-store"
    assert responses[-1].headers["Referrer-Policy"] == "no-referrer"


def test_an_expired_form_on_a_link_page_keeps_the_link_private(client, session, ctx):
    ask(session, mediator_account(session), now=datetime.now(UTC))
    link = "/feedback/" + token_for(session, "ana@example.org")
    response = client.post(link, data={"csrf_token": "stale"})
    assert response.status_code == 400
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert count(session, FeedbackAnswer) == 0
