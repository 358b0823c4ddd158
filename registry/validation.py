"""Checks of free text shared by the services: one wording for every form's limits."""


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
        raise error(f"{what} cannot be empty.")
    if len(value) < minimum:
        raise error(f"{what} needs at least {minimum} characters; it has {len(value)}.")
    if len(value) > limit:
        raise error(f"{what} is {len(value)} characters long; the limit is {limit}.")
    return value
