"""Peer reviewers, their conflict declarations, and the Feedback Digests they publish."""

from decimal import Decimal

from flask import Flask

from registry.formatting import format_number


def format_score(mean_centi: int) -> str:
    """Return a mean score kept in hundredths with two decimals ("4.25", "4,25" in French)."""
    return format_number(Decimal(mean_centi).scaleb(-2), decimals=2)


def init_app(app: Flask) -> None:
    from registry.digests.jobs import sweep_digests
    from registry.digests.queries import DIMENSION_LABELS
    from registry.digests.views import bp
    from registry.feedback.models import DIMENSIONS

    app.register_blueprint(bp)
    app.add_template_filter(format_score, "score")
    # (code, short label, question) of each rated dimension, for the digest's score rows.
    app.jinja_env.globals["DIGEST_DIMENSIONS"] = [
        (code, DIMENSION_LABELS[code], question) for code, question in DIMENSIONS
    ]
    app.extensions["jobs"].add_daily(
        "digests",
        sweep_digests,
        "Remind mediators before their Feedback Digest expires; mark expired digests",
    )
