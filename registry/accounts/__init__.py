"""Accounts: people, their roles, passwords, sessions and password resets."""

from flask import Flask

from registry.accounts.jobs import purge_reset_tokens, purge_sign_ins
from registry.accounts.models import User
from registry.accounts.services import signed_in_user
from registry.database import utcnow
from registry.extensions import db, login_manager


def init_app(app: Flask) -> None:
    from registry.accounts.views import bp

    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    app.register_blueprint(bp)
    app.extensions["jobs"].add_daily(
        "purge-reset-links", purge_reset_tokens, "Delete used and expired password reset links"
    )
    app.extensions["jobs"].add_daily(
        "purge-sign-ins",
        purge_sign_ins,
        "Delete sign-ins whose session has expired and failed sign-in counts a day old",
    )


def load_user(login_id: str) -> User | None:
    """Return the account of a session's login id ("<sign-in id>:<secret>"), if still open."""
    return signed_in_user(db.session, login_id, utcnow())
