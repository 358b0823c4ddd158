"""The outbox: written with the change that causes it, sent over real SMTP by the job."""

import email
import email.policy
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from registry.accounts.models import Role, User
from registry.accounts.services import register_mediator
from registry.database import db, utcnow
from registry.mail.models import MailStatus, OutboxMessage
from registry.mail.services import MAX_ATTEMPTS, Attachment, queue_mail, send_queued_mail
from tests.conftest import free_port, post_form
from tests.factories import PASSWORD, make_user


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(app, monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    yield inbox
    controller.stop()


def test_queued_mail_is_sent_over_smtp_once(session, ctx, smtp_server):
    queue_mail(session, to="a@example.org", subject="Hello", body="First line", now=utcnow())
    queue_mail(session, to="b@example.org", subject="Again", body="Second", now=utcnow())
    session.commit()

    assert send_queued_mail(utcnow()) == {"sent": 2, "failed": 0}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["a@example.org", "b@example.org"]
    assert b"Subject: Hello" in smtp_server.messages[0].content
    statuses = session.scalars(
        select(OutboxMessage.status).execution_options(populate_existing=True)
    )
    assert set(statuses) == {MailStatus.SENT}

    assert send_queued_mail(utcnow()) == {"sent": 0, "failed": 0}
    assert len(smtp_server.messages) == 2


def test_attachments_are_sent_with_their_message(session, ctx, smtp_server):
    pdf = b"%PDF-1.4 receipt"
    queue_mail(
        session,
        to="a@example.org",
        subject="Receipt",
        body="Attached.",
        now=utcnow(),
        attachments=[Attachment("receipt-RCT-0000001.pdf", "application/pdf", pdf)],
    )
    session.commit()
    assert send_queued_mail(utcnow()) == {"sent": 1, "failed": 0}
    (sent,) = smtp_server.messages
    message = email.message_from_bytes(sent.content, policy=email.policy.default)
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "receipt-RCT-0000001.pdf"
    assert (part.get_content_type(), part.get_content()) == ("application/pdf", pdf)
    assert message.get_body(("plain",)).get_content().strip() == "Attached."


def test_mail_of_a_rolled_back_change_is_never_written_or_sent(session, ctx, smtp_server):
    with pytest.raises(RuntimeError), db.transaction() as inner:
        register_mediator(
            inner, email="ghost@example.org", name="Ghost", now=utcnow(), ttl=timedelta(hours=1)
        )
        inner.flush()
        assert inner.scalar(select(OutboxMessage.id)) is not None
        raise RuntimeError("the request failed after queueing")

    assert session.scalar(select(OutboxMessage.id)) is None
    assert session.scalar(select(User.id).where(User.email == "ghost@example.org")) is None
    send_queued_mail(utcnow())
    assert smtp_server.messages == []


def test_unreachable_server_keeps_mail_queued_then_gives_up(session, ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", 9)  # discard port: nothing listens
    message = queue_mail(session, to="a@example.org", subject="Hi", body="x", now=utcnow())
    session.commit()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = send_queued_mail(utcnow())
        assert result["deferred"] == 1
        session.refresh(message)
        assert message.attempts == attempt
        assert "cannot connect" in message.last_error
    assert message.status == MailStatus.FAILED
    assert send_queued_mail(utcnow()) == {"sent": 0, "failed": 0}


def test_outbox_backend_sends_nothing(session, ctx):
    queue_mail(session, to="a@example.org", subject="Hi", body="x", now=utcnow())
    session.commit()
    assert send_queued_mail(utcnow()) == {"backend": "outbox"}
    assert session.scalar(select(OutboxMessage.status)) == MailStatus.QUEUED


def test_outbox_page_shows_messages_in_development(client, session):
    make_user(session, email="admin@example.org", roles=[Role.ADMINISTRATOR])
    queue_mail(
        session,
        to="a@example.org",
        subject="Your link",
        body="Open http://x.test/abc",
        now=utcnow(),
    )
    session.flush()
    post_form(client, "/login", {"email": "admin@example.org", "password": PASSWORD})
    page = client.get("/staff/outbox").get_data(as_text=True)
    assert "Your link" in page
    assert 'href="http://x.test/abc"' in page


def test_outbox_page_hides_bodies_when_mail_is_really_sent(client, session, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    make_user(session, email="admin@example.org", roles=[Role.ADMINISTRATOR])
    queue_mail(
        session, to="a@example.org", subject="Your link", body="secret-link-body", now=utcnow()
    )
    session.flush()
    post_form(client, "/login", {"email": "admin@example.org", "password": PASSWORD})
    page = client.get("/staff/outbox?status=queued").get_data(as_text=True)
    assert "Your link" in page
    assert "secret-link-body" not in page
    assert client.get("/staff/outbox?status=bogus").status_code == 400


def test_each_recipient_is_written_to_in_their_language(app, session):
    from registry.mail.services import mail_languages

    chooser = make_user(session, email="chooser@example.org")
    chooser.locale = "de"
    make_user(session, email="staff@example.org", roles=(Role.SUPPORT,))
    addresses = ["Chooser@Example.org", "staff@example.org", "party@example.org"]
    with app.test_request_context("/complaints/new", headers={"Accept-Language": "fr"}):
        # The chosen language; staff told of someone else's action: English; a stranger: the page.
        assert mail_languages(session, addresses) == {
            "Chooser@Example.org": "de",
            "staff@example.org": "en",
            "party@example.org": "fr",
        }
        # A language the caller names (a complainant's, a party's) wins for every address.
        assert set(mail_languages(session, addresses, "es").values()) == {"es"}
    # Outside a request (a job): the chosen language or English.
    assert mail_languages(session, addresses)["party@example.org"] == "en"
    assert mail_languages(session, addresses)["Chooser@Example.org"] == "de"
