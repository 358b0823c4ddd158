"""Retry a read once when its database connection was dropped under it.

``pool_pre_ping`` replaces a connection that died while idle in the pool, but not one that dies
during a request (a database restart or failover at that moment, an idle-session timeout on
the server). A GET or HEAD changes nothing, so it can be answered again from the start on a
fresh connection: the error handler marks such a request (``mark_for_retry``) and this WSGI
wrapper runs it once more instead of sending the 503. Writes are never retried here; their
transaction is rolled back and the person is asked to try again.
"""

from collections.abc import Callable, Iterable
from typing import Any

from flask import request
from sqlalchemy.exc import DBAPIError

SAFE_METHODS = frozenset({"GET", "HEAD"})
RETRY = "registry.retry_read"
RETRIED = "registry.retried_read"


def mark_for_retry(error: DBAPIError) -> bool:
    """Mark this request to run again if it is a read on a dropped connection, not yet retried."""
    environ = request.environ
    if (
        request.method in SAFE_METHODS
        and getattr(error, "connection_invalidated", False)
        and not environ.get(RETRIED)
    ):
        environ[RETRY] = True
        return True
    return False


class RetryDroppedReads:
    """WSGI middleware: run a request marked by ``mark_for_retry`` once more."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in SAFE_METHODS:
            return self.app(environ, start_response)
        started: list[Any] = []

        def hold(status: str, headers: list, exc_info: Any = None) -> Callable:
            started[:] = [status, headers, exc_info]
            return lambda _data: None  # the app never writes directly (werkzeug responses)

        body = self.app(environ, hold)
        if not environ.pop(RETRY, False):
            start_response(*started)
            return body
        if hasattr(body, "close"):
            body.close()
        environ[RETRIED] = True
        return self.app(environ, start_response)
