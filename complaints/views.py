"""Complaint pages (being written)."""

from flask import Blueprint, Flask

bp = Blueprint("complaints", __name__)


def register(app: Flask) -> None:
    """Register the complaint blueprints."""
    app.register_blueprint(bp)
