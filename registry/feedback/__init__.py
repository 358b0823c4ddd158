"""Feedback from parties of past mediations: requests, one-time links, anonymous answers."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.feedback.jobs import expire_feedback_links
    from registry.feedback.views import bp

    app.register_blueprint(bp)
    app.extensions["jobs"].add_daily(
        "expire-feedback-links",
        expire_feedback_links,
        "Close expired feedback links, delete their addresses and redact their e-mails",
    )
