"""The public front pages and the health check."""

from flask import Blueprint, Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from registry.accounts.permissions import public
from registry.extensions import db

bp = Blueprint("main", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.route("/")
@public
def home() -> str:
    return render_template("home.html")


@bp.route("/healthz")
@public
def health() -> ResponseReturnValue:
    """Answer 200 when the database answers; for load balancers and the start-up check."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
