"""Accounts: people, their roles, passwords, sessions and password resets."""

import hmac

from flask import Flask

from registry.accounts.jobs import purge_reset_tokens
from registry.accounts.models import User
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


def load_user(login_id: str) -> User | None:
    """Return the account for a session's login id ("<id>:<session token>"), if still valid."""
    user_id, _, token = login_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user
