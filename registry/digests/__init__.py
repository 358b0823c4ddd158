"""Peer reviewers, their conflict declarations, and the Feedback Digests they publish."""

from flask import Flask


def init_app(app: Flask) -> None:
    from registry.digests.jobs import sweep_digests
    from registry.digests.queries import DIMENSION_LABELS
    from registry.digests.views import bp
    from registry.feedback.models import DIMENSIONS

    app.register_blueprint(bp)
    # (code, short label, question) of each rated dimension, for the digest's score rows.
    app.jinja_env.globals["DIGEST_DIMENSIONS"] = [
        (code, DIMENSION_LABELS[code], question) for code, question in DIMENSIONS
    ]
    app.extensions["jobs"].add_daily(
        "digests",
        sweep_digests,
        "Remind mediators before their Feedback Digest expires; mark expired digests",
    )
