"""Mediator Registry: the application factory.

``create_app`` is a list of configure/register steps. Each domain package exposes
``init_app(app)`` (its blueprints, its jobs); adding a domain means adding it to ``DOMAINS``.
"""

import importlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from registry.config import check_rate_limit_storage, load_config, resolve_secret_key

# The packages whose blueprints and jobs make up the site, in registration order. The
# registry's kernel never imports ``audits`` or ``complaints`` by name: this list is the
# registration hook.
DOMAINS = (
    "registry.main",
    "registry.monitoring",
    "registry.accounts",
    "registry.events",
    "registry.mail",
    "registry.organisations",
    "registry.mediators",
    "registry.feedback",
    "registry.digests",
    "registry.contributions",
    "registry.search",
    "registry.credentials",
    "registry.certificates",
    "registry.api",
    "standards",
    "audits",
    "recognition",
    "complaints",
    # Last: its before_request hook runs after the domains' own (sign-in, CSRF, limits).
    "registry.submissions",
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application; ``config`` overrides settings from the environment."""
    app = Flask(
        __name__,
        template_folder=str(_templates_dir()),
        instance_path=os.environ.get("REGISTRY_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    configure_app(app, config)
    configure_proxies(app)
    configure_logging(app)
    register_extensions(app)
    register_domains(app)
    register_web(app)
    return app


def _templates_dir() -> Path:
    """Return the templates folder: inside the package when installed, else the source tree."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


def configure_app(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    instance = Path(app.instance_path)
    app.config.update(load_config(instance))
    app.config.update(overrides or {})
    app.config["SECRET_KEY"] = resolve_secret_key(app.config, instance)
    app.config["TESTING"] = app.config["REGISTRY_ENV"] == "testing"


def configure_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the trusted proxies' headers, if any.

    Behind a TLS proxy every request comes from the proxy: without this, the per-address
    rate limits would count all clients as one.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def configure_logging(app: Flask) -> None:
    from registry.logs import configure_root

    configure_root(app.config["LOG_FORMAT"])
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of the 30-second mail job; keep its warnings and errors.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from registry import uploads
    from registry.extensions import csrf, db, limiter, login_manager
    from registry.scheduling import registry as jobs

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    check_rate_limit_storage(app.config)
    # flask-limiter defaults RATELIMIT_ENABLED to its own last value, so one app made without
    # limits (a script, a test) would leave every later app in the process without them.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    jobs.init_app(app)
    uploads.init_app(app)


def register_domains(app: Flask) -> None:
    for name in DOMAINS:
        importlib.import_module(name).init_app(app)


def register_web(app: Flask) -> None:
    from registry import i18n, web

    web.init_app(app)
    # Last: its middleware is the outermost, so it sees the address as the client sent it.
    i18n.init_app(app)
