"""Lazy translations for the audits' forms and label dicts, escaped where Jinja renders them.

Flask-Babel's ``LazyString.__html__`` returns the text unescaped, so a lazy form label, error
or description with an apostrophe or ``<`` reached the page as raw markup. These escape like a
plain string does.
"""

from typing import Any

from flask_babel import LazyString, gettext
from markupsafe import escape


class EscapedLazyString(LazyString):
    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Like ``flask_babel.lazy_gettext``, but escaped when Jinja renders it."""
    return EscapedLazyString(gettext, string, **variables)
