"""The single authorisation mechanism: every view declares who may use it.

``public`` and ``signed_in`` mark open pages; ``role_required`` lets in anyone holding one
of the roles. Each decorator records its rule on the view as ``access``, so the test suite can
check that no route is left undeclared and that each role is let in or turned away.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from registry.accounts.models import Role
from registry.extensions import login_manager

View = TypeVar("View", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed-in"


def public(view: View) -> View:
    """Mark ``view`` as open to everyone, signed in or not."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def _guard(view: View, allowed: Callable[[], bool], rule: object) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not allowed():
            abort(403)
        return view(*args, **kwargs)

    wrapped.access = rule  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def signed_in(view: View) -> View:
    """Let in anyone who is signed in."""
    return _guard(view, lambda: True, SIGNED_IN)


def role_required(*roles: Role) -> Callable[[View], View]:
    """Let in people holding any of ``roles``; send others to sign in, or answer 403."""
    allowed_roles = frozenset(roles)

    def decorator(view: View) -> View:
        return _guard(view, lambda: current_user.has_role(*allowed_roles), allowed_roles)

    return decorator
