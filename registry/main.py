"""The public front pages."""

from flask import Blueprint, Flask, render_template

from registry.accounts.permissions import public

bp = Blueprint("main", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.route("/")
@public
def home() -> str:
    return render_template("home.html")
