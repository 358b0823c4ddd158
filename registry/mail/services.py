"""Queueing and sending e-mail.

``queue_mail`` adds a row in the caller's transaction, so a message exists exactly when the
change that caused it was committed. ``send_queued_mail`` is the interval job: it claims a
batch (and commits the claim), sends over SMTP outside any transaction, then marks each
message sent, or queued again, or failed after the last attempt. With MAIL_BACKEND=outbox
nothing is sent: staff read the messages on the outbox page.
"""

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from registry.database import db
from registry.i18n import DEFAULT_LOCALE, LANGUAGES, current_language
from registry.mail.models import MailAttachment, MailStatus, OutboxMessage

log = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_ATTEMPTS = 5
# A message claimed longer ago than this was left by a sender that died; claim it again.
CLAIM_TIMEOUT = timedelta(minutes=10)
# The address of a redacted message.
REDACTED_ADDRESS = "(removed)"


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    now: datetime,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """Queue a plain-text message (with any attachments) in the caller's transaction."""
    message = OutboxMessage(
        created_at=now, to_address=to, subject=subject, body_text=body, status=MailStatus.QUEUED
    )
    message.attachments = [
        MailAttachment(filename=a.filename, content_type=a.content_type, content=a.content)
        for a in attachments
    ]
    session.add(message)
    return message


def split_subject(text: str) -> tuple[str, str]:
    """Split a rendered mail template (first line "Subject: ...", a blank line, the body)."""
    subject, _, body = text.partition("\n\n")
    return subject.removeprefix("Subject: ").strip(), body


def queue_template_mail(
    session: Session,
    template: str,
    *,
    to: Iterable[str],
    now: datetime,
    attachments: Sequence[Attachment] = (),
    locale: str | None = None,
    **context: object,
) -> int:
    """Render ``mail/<template>`` once per language and queue it to each address.

    Each recipient gets a message of their own, so no one learns who else was told, written
    in ``locale`` when given (a complainant's, a party's), else in the preferred language of
    the account with that address, else in the language of the page this request serves.
    Returns how many were queued.
    """
    addresses = list(dict.fromkeys(to))
    languages = mail_languages(session, addresses, locale)
    rendered: dict[str, tuple[str, str]] = {}
    for address in addresses:
        language = languages[address]
        if language not in rendered:
            with force_locale(language):
                rendered[language] = split_subject(render_template(f"mail/{template}", **context))
        subject, body = rendered[language]
        queue_mail(
            session, to=address, subject=subject, body=body, now=now, attachments=attachments
        )
    return len(addresses)


def mail_languages(
    session: Session, addresses: Sequence[str], locale: str | None = None
) -> dict[str, str]:
    """Return the language to write to each address in.

    ``locale`` when given (a complainant's, a party's); else the preferred language of the
    account with that address; else, for the person making this request or someone without
    an account, the language of the page; else (staff told of another person's action)
    English, the registry's working language.
    """
    if locale in LANGUAGES:
        return dict.fromkeys(addresses, locale)
    # Accounts sit above mail (they send mail), so their model is imported here.
    from registry.accounts.models import User

    page = current_language() if has_request_context() else DEFAULT_LOCALE
    folded = {address: address.strip().lower() for address in addresses}
    accounts: dict[str, str | None] = dict(
        session.execute(  # type: ignore[arg-type]
            select(User.email, User.locale).where(User.email.in_(folded.values()))
        ).all()
    )
    acting = _acting_address()
    languages = {}
    for address, email in folded.items():
        if email not in accounts or email == acting:
            languages[address] = accounts.get(email) or page
        else:
            languages[address] = accounts[email] or DEFAULT_LOCALE
    return languages


def _acting_address() -> str | None:
    if not has_request_context():
        return None
    return current_user.email if current_user and current_user.is_authenticated else None


def redact_message(session: Session, message_id: int, *, reason: str) -> bool:
    """Replace a message's address and body with a note saying why; withdraw it if queued.

    For messages that carried a one-time link. ``reason`` completes "because ...". A message
    being sent right now is left alone and False returned: the caller tries again later.
    """
    status = OutboxMessage.status
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, status != MailStatus.SENDING)
        .values(
            to_address=REDACTED_ADDRESS,
            body_text=f"This message is kept without its address and content because {reason}.",
            last_error=case(
                (status == MailStatus.QUEUED, f"Withdrawn before sending because {reason}."),
                else_=OutboxMessage.last_error,
            ),
            status=case((status == MailStatus.QUEUED, MailStatus.WITHDRAWN.value), else_=status),
        )
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def send_queued_mail(now: datetime) -> dict[str, int | str]:
    """Send one batch of queued messages over SMTP (the mail job)."""
    if current_app.config["MAIL_BACKEND"] != "smtp":
        return {"backend": current_app.config["MAIL_BACKEND"]}
    claimed = _claim_batch(now)
    if not claimed:
        return {"sent": 0, "failed": 0}
    try:
        connection = _connect()
    except (OSError, smtplib.SMTPException) as error:
        log.warning("SMTP server unreachable: %s", error)
        for message in claimed:
            _finish(message.id, now, error=f"cannot connect: {error}")
        return {"sent": 0, "failed": 0, "deferred": len(claimed)}
    sent = failed = 0
    with connection:
        for message in claimed:
            try:
                connection.send_message(_build(message))
            except (OSError, smtplib.SMTPException) as error:
                failed += 1
                _finish(message.id, now, error=str(error))
            else:
                sent += 1
                _finish(message.id, now)
    return {"sent": sent, "failed": failed}


def _claim_batch(now: datetime) -> list[OutboxMessage]:
    with db.transaction() as session:
        due = or_(
            OutboxMessage.status == MailStatus.QUEUED,
            (OutboxMessage.status == MailStatus.SENDING)
            & (OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
        )
        query = (
            select(OutboxMessage)
            .where(due)
            .order_by(OutboxMessage.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
        messages = list(session.scalars(query))
        for message in messages:
            message.status = MailStatus.SENDING
            message.claimed_at = now
            message.attempts += 1
    return messages


def _finish(message_id: int, now: datetime, error: str | None = None) -> None:
    with db.transaction() as session:
        message = session.get(OutboxMessage, message_id)
        message.last_error = error
        if error is None:
            message.status, message.sent_at = MailStatus.SENT, now
        elif message.attempts >= MAX_ATTEMPTS:
            message.status = MailStatus.FAILED
        else:
            message.status = MailStatus.QUEUED


def _connect() -> smtplib.SMTP:
    config = current_app.config
    connection = smtplib.SMTP(
        config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT_SECONDS"]
    )
    if config["SMTP_STARTTLS"]:
        connection.starttls()
    if config["SMTP_USERNAME"]:
        connection.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
    return connection


def _build(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
    email.set_content(message.body_text)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return email
