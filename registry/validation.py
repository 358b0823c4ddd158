"""Checks of free text shared by the services: one wording for every form's limits."""

from flask_babel import gettext as _


def checked_text(
    value: str | None,
    *,
    what: str,
    limit: int,
    error: type[Exception],
    minimum: int = 1,
) -> str:
    """Return ``value`` trimmed, or raise ``error`` when it is shorter than ``minimum`` or too long.

    ``minimum`` 0 makes the text optional; 1 (the default) only requires some text.
    """
    value = (value or "").strip()
    if minimum and not value:
        raise error(_("%(what)s cannot be empty.", what=what))
    if len(value) < minimum:
        raise error(
            _(
                "%(what)s needs at least %(minimum)s characters; it has %(length)s.",
                what=what,
                minimum=minimum,
                length=len(value),
            )
        )
    if len(value) > limit:
        raise error(
            _(
                "%(what)s is %(length)s characters long; the limit is %(limit)s.",
                what=what,
                length=len(value),
                limit=limit,
            )
        )
    return value
