"""What every page shares: error pages, security headers, template helpers."""

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from registry import formatting
from registry.accounts.models import STAFF_ROLES, Role
from registry.api.errors import API_PATH, api_error, error_response
from registry.extensions import db, login_manager
from registry.i18n import _l
from registry.retries import RetryDroppedReads, mark_for_retry

log = logging.getLogger(__name__)

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Check what you entered.")),
    403: (_l("Not allowed"), _l("Your account does not give access to this page.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    409: (_l("Already sent"), _l("This was done already.")),
    413: (_l("Too large"), _l("What you sent is larger than this site accepts.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong"), _l("The error is logged. Please try again later.")),
    503: (
        _l("Back in a moment"),
        _l(
            "The registry cannot reach its database just now. Please try again in a minute;"
            " if you were sending a form, nothing of it was saved."
        ),
    ),
}
# What a client is told to wait before asking again while the database is unreachable.
DATABASE_RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE_API_MESSAGE = _l(
    "The registry cannot reach its database just now; try again in a minute."
)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# Browsers that once reached the site over HTTPS refuse plain HTTP to it (and to its
# subdomains) for two years; sent in production only, where a TLS proxy is in front.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.after_request(_security_headers)
    app.wsgi_app = RetryDroppedReads(app.wsgi_app)  # type: ignore[method-assign]
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(Role=Role, STAFF_ROLES=STAFF_ROLES)
    formatting.init_app(app)


def flash_form_errors(form: Any) -> None:
    """Flash each error of ``form`` with its field's label (for forms far down a page)."""
    for form_field in form:
        for error in form_field.errors:
            flash(_("%(field)s: %(error)s", field=form_field.label.text, error=error), "error")


def submit_form(
    form: Any, back: Response, action: Callable[[], str], refused: type[Exception]
) -> Response:
    """Validate ``form``, run ``action`` (it returns the success message), commit, go ``back``.

    Bad input and the rules' refusals (``refused``) are flashed, and nothing is written.
    """
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    try:
        message = action()
    except refused as error:
        db.session.rollback()
        flash(str(error), "error")
        return back
    db.session.commit()
    flash(message, "success")
    return back


def confirmation(
    form: Any, *, title: str, summary: Callable[[], list[str]], button: str, back: str
) -> str | None:
    """Return a page that says what this POST will do and asks to confirm it; None once confirmed.

    The JS-free two-step POST for irreversible actions: a valid first POST gets a page listing
    ``summary()`` with a "Yes, ..." ``button`` that re-posts the same fields with
    ``confirmed=1``; only then does the view act. An invalid form gets no page (the view shows
    its errors as before).
    """
    if request.form.get("confirmed") == "1" or not form.validate_on_submit():
        return None
    fields = [
        (name, value)
        for name, values in request.form.lists()
        if name != "confirmed"
        for value in values
    ]
    return render_template(
        "confirm.html",
        title=title,
        summary=summary(),
        button=button,
        fields=fields,
        action=request.path,
        back=back,
    )


def local_path(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site ("/account?x=1"), else None.

    Browsers read "//host", "////host" and "/\\host" as another site, and drop tabs and
    newlines before reading an address, so only one leading slash and no such characters pass.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def render_error(code: int, message: str | None = None) -> ResponseReturnValue:
    """Render the error page for ``code`` (never a stack trace)."""
    title, default_message = ERROR_TEXTS.get(
        code, (_("Error %(code)s", code=code), _("The request failed."))
    )
    context = {"code": code, "title": title, "message": message or default_message}
    return render_template("errors/error.html", **context), code


def _http_error(error: HTTPException) -> ResponseReturnValue:
    # Unhandled exceptions arrive here as a 500 after Flask has logged them.
    if error.code is None or error.code < 400:
        return error
    if request.path.startswith(API_PATH):
        return api_error(error)
    return render_error(error.code)


def _database_unavailable(error: DBAPIError) -> ResponseReturnValue:
    """Answer 503 while the database is unreachable (restarting, failing over, overloaded).

    The request's transaction is lost, so nothing it wrote is kept; the pool checks each
    connection before use (``pool_pre_ping``), so the next request after the database is back
    gets a fresh one, without restarting the site. A read whose connection was dropped under
    it is answered again once (``registry.retries``) instead.
    """
    origin = getattr(error, "orig", None) or error
    retrying = mark_for_retry(error)
    log.warning(
        "database unavailable on %s %s%s: %s",
        request.method, request.path, " (answering it again once)" if retrying else "",
        (str(origin).strip().splitlines() or ["?"])[0],
    )  # fmt: skip
    _forget_session()
    if request.path.startswith(API_PATH):
        response = error_response(503, str(DATABASE_UNAVAILABLE_API_MESSAGE))
    else:
        # The page is drawn as for a visitor: the signed-in person cannot be loaded now.
        g._login_user = login_manager.anonymous_user()
        body, status = render_error(503)
        response = current_app.response_class(body, status=status)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def _forget_session() -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except SQLAlchemyError:
        log.debug("closing the session of a failed request failed too", exc_info=True)


def _csrf_error(_error: CSRFError) -> ResponseReturnValue:
    return render_error(
        400, _("The form had expired or was sent from elsewhere. Go back, reload it and try again.")
    )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["REGISTRY_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if request.path.startswith("/password/reset/"):
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cache-Control"] = "no-store"
    return response
