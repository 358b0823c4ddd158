"""One-time submission tokens: a form behind a role does what it asks once.

Every page that shows such a form puts a fresh signed token in it (``submission_field()`` in
the templates). A POST to a view that requires a role must carry one; the token is written to
``form_submissions`` (a unique key) in the same transaction as the change the view makes, so a
double click, a replayed request or twenty parallel copies of one are carried out once: the
others wait for the first to commit and are then refused. A view that refuses the change rolls
back, and the token with it, so the form can be sent again once corrected.
"""

from flask import Flask, current_app, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from registry.database import utcnow
from registry.extensions import db
from registry.i18n import _l
from registry.submissions import services
from registry.submissions.jobs import purge_submissions
from registry.web import local_path, render_error

ALREADY_SENT = _l(
    "This form was already sent, and what it asked for was done then; it was not done again."
)
EXPIRED = _l("The form had expired or was sent from elsewhere. Go back, reload it and try again.")


def init_app(app: Flask) -> None:
    app.before_request(_consume_token)
    app.jinja_env.globals["submission_field"] = submission_field
    app.extensions["jobs"].add_daily(
        "purge-submissions", purge_submissions, "Delete used one-time form tokens that expired"
    )


def submission_field() -> Markup:
    """Return the hidden input that carries a fresh one-time token (for a template's form)."""
    token = services.issue_token()
    return Markup('<input type="hidden" name="{}" value="{}">').format(services.FIELD, token)


def _needs_token() -> bool:
    """Return whether this request is a POST that a role lets the signed-in person make."""
    if request.method != "POST" or request.endpoint is None:
        return False
    roles = getattr(current_app.view_functions[request.endpoint], "access", None)
    # Other people are turned away by the view's own guard, with its own answer.
    return (
        isinstance(roles, frozenset)
        and current_user.is_authenticated
        and current_user.has_role(*roles)
    )


def _consume_token() -> ResponseReturnValue | None:
    if not _needs_token():
        return None
    try:
        services.consume_token(
            db.session,
            request.form.get(services.FIELD),
            endpoint=request.endpoint or "",
            now=utcnow(),
        )
    except services.TokenExpired:
        db.session.rollback()
        return render_error(400, str(EXPIRED))
    except services.AlreadySubmitted:
        db.session.rollback()
        back = local_path(_referrer_path())
        if back is None:
            return render_error(409, str(ALREADY_SENT))
        flash(str(ALREADY_SENT), "info")
        return redirect(back, 303)
    return None


def _referrer_path() -> str | None:
    """Return the path of the page the form was on, if it was on this site."""
    referrer = request.referrer
    if not referrer or not referrer.startswith(request.host_url):
        return None
    return "/" + referrer.removeprefix(request.host_url)
