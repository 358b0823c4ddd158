"""Audit pages (to be written)."""

from flask import Blueprint, Flask

bp = Blueprint("audits", __name__)


def register(app: Flask) -> None:
    """Register the audit blueprints: the core pages, the committee, documents and reports."""
    from audits.committee.views import bp as committee
    from audits.documents.views import bp as documents
    from audits.reports.views import bp as reports

    for blueprint in (bp, committee, documents, reports):
        app.register_blueprint(blueprint)
