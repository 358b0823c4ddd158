"""Languages: which one a request is served in, and the language prefix in URLs.

Every page is reachable under a language prefix (``/fr/find``) and without one (``/find``).
A prefix decides the language and is remembered in a cookie; without one the language is
negotiated: the signed-in person's preferred language, then the remembered choice, then the
browser's ``Accept-Language``. The JSON API looks at ``Accept-Language`` only, so one client
always gets the same answers. ``/`` redirects to the home page in the negotiated language
when that is not English, so a French browser lands on ``/fr/``.

The prefix is moved from ``PATH_INFO`` to ``SCRIPT_NAME`` before Flask sees the request, so
the routes know nothing of it and every ``url_for`` on a ``/fr/`` page stays in French.
"""

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from babel import Locale
from flask import Flask, has_request_context, redirect, request
from flask_babel import Babel, LazyString, get_locale, gettext, refresh
from flask_login import current_user
from markupsafe import escape
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

# The site's languages, with their names in themselves (as the language switcher shows them).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "de": "Deutsch",
    "nl": "Nederlands",
}
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "registry_locale"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Where the middleware leaves the language named by the URL, and the script root before it.
URL_LOCALE_KEY = "registry.url_locale"
OUTER_ROOT_KEY = "registry.outer_script_root"
API_PATH = "/api/"

babel = Babel()


class EscapedLazyString(LazyString):
    """A lazy translation Jinja escapes like a plain string (Flask-Babel's would pass raw)."""

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Translate ``string`` when it is shown (form labels, label dicts defined at import)."""
    return EscapedLazyString(gettext, string, **variables)


_l = lazy_gettext


def in_sentence(label: object) -> str:
    """Return a label (a status, a subject) as it reads inside a sentence of the page's language.

    English, French, Spanish and Dutch write it in lower case ("is struck"); German keeps it
    as translated, since its nouns keep their capitals.
    """
    text = str(label)
    return text if current_language() == "de" else text.lower()


def choices(labels: Mapping[Any, object], blank: object | None = None) -> list[SelectChoice]:
    """Return ``{value: label}`` as a select's choices, after an optional ``blank`` choice.

    Labels may be lazy (translated when shown): WTForms would read a dict whose labels are not
    plain strings as option groups.
    """
    first = {"": blank} if blank is not None else {}
    return [SelectChoice(value=v, label=label) for v, label in {**first, **labels}.items()]  # type: ignore[arg-type]


def country_select_choices(blank: object | None = None) -> list[SelectChoice]:
    """Every country in the page's language and collation order, after an optional blank."""
    from registry.reference import country_choices

    return choices(dict(country_choices()), blank)


def language_select_choices() -> list[SelectChoice]:
    """Every language in the page's language and collation order."""
    from registry.reference import language_choices

    return choices(dict(language_choices()))


class LocalePrefix:
    """WSGI middleware: ``/fr/find`` reaches the app as ``/find`` under the script root ``/fr``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if OUTER_ROOT_KEY in environ:  # seen already (a retried request)
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        first, _, rest = path.lstrip("/").partition("/")
        environ[OUTER_ROOT_KEY] = environ.get("SCRIPT_NAME", "")
        if path.startswith("/") and first in LANGUAGES:
            environ[URL_LOCALE_KEY] = first
            environ["SCRIPT_NAME"] = f"{environ[OUTER_ROOT_KEY]}/{first}"
            environ["PATH_INFO"] = f"/{rest}"
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["REGISTRY_TIMEZONE"])
    babel.init_app(app, locale_selector=select_locale)
    # {% trans %} blocks ignore line breaks and indentation, as the extracted messages do.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.wsgi_app = LocalePrefix(app.wsgi_app)  # type: ignore[method-assign]
    # Flask-Babel keeps the locale in ``g``, which outlives a request when an application
    # context was already pushed around it (tests, scripts): each request chooses afresh.
    app.before_request(refresh)
    app.before_request(_redirect_home)
    app.after_request(_remember_choice)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES, current_language=current_language, language_url=language_url
    )
    app.add_template_filter(in_sentence, "in_sentence")


def select_locale() -> str:
    """Return the language of this request (see the module's docstring for the order)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    chosen = request.environ.get(URL_LOCALE_KEY)
    if chosen:
        return chosen
    if not request.path.startswith(API_PATH):
        preferred = _preferred_language()
        if preferred:
            return preferred
        remembered = request.cookies.get(LOCALE_COOKIE)
        if remembered in LANGUAGES:
            return remembered
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LOCALE)


def _preferred_language() -> str | None:
    user = current_user
    if user and user.is_authenticated:
        preferred = getattr(user, "locale", None)
        if preferred in LANGUAGES:
            return preferred
    return None


def current_language() -> str:
    """Return the language code this request is served in ("fr")."""
    locale = get_locale()
    return locale.language if locale else DEFAULT_LOCALE


@cache
def babel_locale(name: str) -> Locale:
    """Return Babel's locale ``name`` ("fr", "en_GB"), parsed once per process."""
    return Locale.parse(name)


def language_url(language: str | None) -> str:
    """Return this page's address in ``language`` (None: without a prefix, negotiated)."""
    root = request.environ.get(OUTER_ROOT_KEY, "")
    prefix = f"/{language}" if language else ""
    query = request.query_string.decode("latin-1")
    return f"{root}{prefix}{request.path}" + (f"?{query}" if query else "")


def _redirect_home() -> Response | None:
    """Send ``/`` to the home page in the negotiated language when that is not English."""
    if request.method != "GET" or request.path != "/" or URL_LOCALE_KEY in request.environ:
        return None
    language = current_language()
    if language == DEFAULT_LOCALE:
        return None
    response = redirect(language_url(language), code=302)
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _remember_choice(response: Response) -> Response:
    """Remember a language named by the URL; negotiated pages vary with what negotiated them."""
    response.headers.setdefault("Content-Language", current_language())
    chosen = request.environ.get(URL_LOCALE_KEY)
    if chosen is None:
        # The API reads only Accept-Language; the pages also the remembered choice.
        api = request.path.startswith(API_PATH)
        response.vary.update(("Accept-Language",) if api else ("Accept-Language", "Cookie"))
    elif request.cookies.get(LOCALE_COOKIE) != chosen:
        response.set_cookie(
            LOCALE_COOKIE,
            chosen,
            max_age=LOCALE_COOKIE_MAX_AGE,
            samesite="Lax",
            secure=request.is_secure,
            httponly=True,
        )
    return response
