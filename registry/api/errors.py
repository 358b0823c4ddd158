"""The API's one error shape, ``{"error": {"status": 400, "message": "..."}}``.

``registry.web`` answers every HTTP error under ``API_PATH`` with it: bad parameters, unknown
ids and addresses, other methods (405), the rate limit (429) and server errors alike.
"""

from flask import jsonify
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response

from registry.i18n import _l

API_PATH = "/api/"

MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l("There is nothing at this address."),
    405: _l("This address answers GET, HEAD and OPTIONS only."),
    500: _l("Something went wrong; the error is logged."),
}


def error_response(status: int, message: str) -> Response:
    """Return the JSON error answer with ``status``."""
    response = jsonify({"error": {"status": status, "message": str(message)}})
    response.status_code = status
    return response


def api_error(error: HTTPException) -> Response:
    """Answer ``error`` in the API's error shape, keeping the headers it calls for."""
    status = error.code or 500
    response = error_response(status, _message(error, status))
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _message(error: HTTPException, status: int) -> str:
    if isinstance(error, RateLimitExceeded):
        return _(
            "Too many requests: the limit is %(limit)s per client. Try again later.",
            limit=error.description,
        )
    if error.description and error.description != type(error).description:
        return error.description  # a message the view gave, e.g. a SearchError's
    return str(MESSAGES.get(status, error.name))
