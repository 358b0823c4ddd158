"""The mail outbox: messages are queued with the change that caused them, sent by a job."""

from datetime import timedelta

from flask import Flask

from registry.mail.services import send_queued_mail


def init_app(app: Flask) -> None:
    from registry.mail.views import bp

    app.register_blueprint(bp)
    app.extensions["jobs"].add_interval(
        "send-mail",
        send_queued_mail,
        timedelta(seconds=app.config["MAIL_SEND_INTERVAL_SECONDS"]),
        "Send queued e-mail over SMTP",
    )
