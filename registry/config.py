"""Configuration read from environment variables, with documented defaults.

Every setting is listed in README.md ("Configuration"). ``load_config`` returns a plain dict
that ``create_app`` applies; tests pass their own overrides on top.
"""

import ipaddress
import itertools
import math
import os
import secrets
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from limits.storage import storage_from_string

from registry.logs import LOG_FORMATS

ENVIRONMENTS = ("development", "production", "testing")

# Values that must never protect a production deployment.
WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "development"}
MIN_SECRET_LENGTH = 32
# The randomness a production secret must show (estimated_entropy_bits): as much as a 128-bit
# key, which is what guessing a session signature would have to beat.
MIN_SECRET_BITS = 128
# What zlib adds to any input: a 2-byte header and a 4-byte checksum.
_ZLIB_OVERHEAD = 6
# How to make a good secret (a command, not a secret).
GENERATE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105


class ConfigError(RuntimeError):
    """The configuration cannot be used (for example a default secret in production)."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"not a yes/no value: {value!r}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _choice(name: str, choices: Sequence[str], default: str) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Read a comma-separated list of addresses or networks ("10.0.0.0/8, ::1")."""
    try:
        parts = [part.strip() for part in raw.split(",")]
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts if part)
    except ValueError as error:
        raise ConfigError(f"METRICS_ALLOWED_IPS: {error}") from None


def _positive_int(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ConfigError(f"{name} must be 1 or more, got {value}")
    return value


def load_config(instance_path: Path) -> dict:
    """Return the settings from the environment, filling in defaults."""
    env = os.environ.get("REGISTRY_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"REGISTRY_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    is_production = env == "production"
    return {
        "REGISTRY_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "DATABASE_URL": os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance_path / 'registry.sqlite3'}",
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        "REGISTRY_TIMEZONE": os.environ.get("REGISTRY_TIMEZONE", "Europe/Amsterdam"),
        # Mail: "outbox" keeps messages on the staff outbox page, "smtp" sends them.
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "smtp" if is_production else "outbox"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Mediator Registry <registry@localhost>"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "localhost"),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(os.environ.get("SMTP_STARTTLS", "false")),
        "SMTP_TIMEOUT_SECONDS": _int("SMTP_TIMEOUT_SECONDS", 30),
        # Accounts.
        "PASSWORD_RESET_TTL_MINUTES": _int("PASSWORD_RESET_TTL_MINUTES", 60),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int("REMEMBER_DAYS", 7)),
        "REMEMBER_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_SECURE": is_production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int("SESSION_HOURS", 12)),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Proxies in front that add X-Forwarded-For/-Proto; 0 trusts no such header.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "120 per minute"),
        # flask-limiter: memory storage is per process, so production uses Redis.
        "RATELIMIT_STORAGE_URI": os.environ.get(
            "RATELIMIT_STORAGE_URI",
            "redis://127.0.0.1:6379/0" if is_production else "memory://",
        ),
        "RATELIMIT_HEADERS_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": 3600 * 4,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Scheduler: daily sweeps run at this local time (REGISTRY_TIMEZONE).
        "DAILY_JOBS_AT": os.environ.get("DAILY_JOBS_AT", "02:00"),
        "MAIL_SEND_INTERVAL_SECONDS": _int("MAIL_SEND_INTERVAL_SECONDS", 30),
        # Certification policy (product brief section 1).
        "GRACE_PERIOD_DAYS": _int("GRACE_PERIOD_DAYS", 365),
        "PERIOD_END_REMINDER_DAYS": _int("PERIOD_END_REMINDER_DAYS", 30),
        "STRIKE_WARNING_DAYS": _int("STRIKE_WARNING_DAYS", 30),
        # Reminders and overdue notices are mailed only for what fell due at most this many
        # days ago; older ones (a first run, a first import) are recorded, never mailed.
        "REMINDER_RECENT_DAYS": _int("REMINDER_RECENT_DAYS", 14),
        # How to pay a listing contribution other than online, as the reminder e-mails say it
        # (one or two sentences).
        "PAYMENT_INSTRUCTIONS": os.environ.get(
            "PAYMENT_INSTRUCTIONS",
            "bank transfer to the Mediator Registry; support gives you the bank details.",
        ),
        "DIGEST_REQUIRED": _bool(os.environ.get("DIGEST_REQUIRED", "true")),
        "DIGEST_VALID_DAYS": _int("DIGEST_VALID_DAYS", 730),
        # How many feedback answers a peer reviewer needs before publishing a digest.
        "DIGEST_MIN_ANSWERS": _int("DIGEST_MIN_ANSWERS", 3),
        # How many days before a digest's last valid day the mediator is reminded to renew it.
        "DIGEST_REMINDER_DAYS": _int("DIGEST_REMINDER_DAYS", 60),
        # Feedback requests: how long a party's one-time link works, in days.
        "FEEDBACK_LINK_DAYS": _int("FEEDBACK_LINK_DAYS", 30),
        # How many months back a mediation may lie to ask its parties for feedback.
        "FEEDBACK_MAX_AGE_MONTHS": _int("FEEDBACK_MAX_AGE_MONTHS", 36),
        # How many links one mediator may have open at once, so the form cannot send spam.
        "FEEDBACK_MAX_OPEN_INVITATIONS": _int("FEEDBACK_MAX_OPEN_INVITATIONS", 50),
        # Feedback link pages one client (network address) may open, against guessing links.
        "FEEDBACK_LINK_RATE_LIMIT": os.environ.get("FEEDBACK_LINK_RATE_LIMIT", "30 per minute"),
        # Organisation dashboard: a certified mediator whose last covered day is at most this
        # many days away is "nearing lapse".
        "LAPSE_WARNING_DAYS": _int("LAPSE_WARNING_DAYS", 60),
        # An organisation reminds one mediator at most once within this many days.
        "ORGANISATION_REMINDER_DAYS": _int("ORGANISATION_REMINDER_DAYS", 7),
        # At most this many dashboard reminders per organisation per day (registry calendar).
        "ORGANISATION_REMINDERS_PER_DAY": _int("ORGANISATION_REMINDERS_PER_DAY", 100),
        # Program audits (product brief section 2): an audit opens this many days before its
        # due date, and the organisation and appraisers are reminded this many days before it.
        "AUDIT_LEAD_DAYS": _int("AUDIT_LEAD_DAYS", 120),
        "AUDIT_REMINDER_DAYS": _int("AUDIT_REMINDER_DAYS", 30),
        # Where uploaded audit documents are kept (outside the web root; empty: the instance
        # folder's audit-files), and the largest file accepted.
        "AUDIT_FILES_DIR": os.environ.get("AUDIT_FILES_DIR", ""),
        "AUDIT_UPLOAD_MAX_BYTES": _int("AUDIT_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
        # The due date a new document request suggests, in days from today.
        "DOCUMENT_REQUEST_DAYS": _int("DOCUMENT_REQUEST_DAYS", 21),
        # Complaints (product brief section 3): each level acknowledges within, and responds
        # within, this many days of the complaint reaching it; closed complaints are purged
        # this many days after closing, leaving only a count.
        "COMPLAINT_ACK_DAYS": _int("COMPLAINT_ACK_DAYS", 7),
        "COMPLAINT_RESPONSE_DAYS": _int("COMPLAINT_RESPONSE_DAYS", 30),
        "COMPLAINT_RETENTION_DAYS": _int("COMPLAINT_RETENTION_DAYS", 730),
        # Attachments: where they are kept (empty: the instance folder's complaint-files),
        # the largest file, and how many files one complaint or reply may carry.
        "COMPLAINT_FILES_DIR": os.environ.get("COMPLAINT_FILES_DIR", ""),
        "COMPLAINT_UPLOAD_MAX_BYTES": _int("COMPLAINT_UPLOAD_MAX_BYTES", 5 * 1024 * 1024),
        "COMPLAINT_MAX_FILES": _int("COMPLAINT_MAX_FILES", 5),
        # Tracking and filing pages one client (network address) may use, against guessing.
        "COMPLAINT_TRACK_RATE_LIMIT": os.environ.get("COMPLAINT_TRACK_RATE_LIMIT", "10 per minute"),
        "COMPLAINT_FILE_RATE_LIMIT": os.environ.get("COMPLAINT_FILE_RATE_LIMIT", "5 per hour"),
        # Public consultation comments and 360 feedback one client (network address) may send.
        "STANDARD_COMMENT_RATE_LIMIT": os.environ.get("STANDARD_COMMENT_RATE_LIMIT", "10 per hour"),
        "OPEN_FEEDBACK_RATE_LIMIT": os.environ.get("OPEN_FEEDBACK_RATE_LIMIT", "5 per hour"),
        # Payment provider webhook: HMAC-SHA256 secret (empty turns the webhook off) and how
        # far a signature's timestamp may be from now.
        "PAYMENT_WEBHOOK_SECRET": os.environ.get("PAYMENT_WEBHOOK_SECRET", ""),
        # The Ed25519 keys that sign credentials (PEM files and keys.json); in development
        # <instance>/signing-keys, made on first use. Production refuses to serve without one.
        "SIGNING_KEYS_DIR": os.environ.get("SIGNING_KEYS_DIR") or None,
        # How long a process keeps Find a mediator's per-country and per-language counts.
        "FILTER_COUNTS_CACHE_SECONDS": int(
            os.environ.get("FILTER_COUNTS_CACHE_SECONDS", "0" if env == "testing" else "300")
        ),
        "PAYMENT_WEBHOOK_TOLERANCE_SECONDS": _int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300),
        # Online payment through Stripe Checkout: the secret API key (empty: no "Pay now"),
        # the webhook endpoint's signing secret (whsec_...), and where the API answers (tests
        # and development point it at a local fake).
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
        # The registry as receipts name it: its name and postal address (lines split by "\n"
        # or ";").
        "REGISTRY_NAME": os.environ.get("REGISTRY_NAME", "Mediator Registry"),
        "REGISTRY_ADDRESS": os.environ.get("REGISTRY_ADDRESS", ""),
        # Operations: log lines as text or JSON objects; /readyz calls the site unready when
        # the scheduler's last heartbeat is older than this (0: the scheduler is not checked);
        # who may read /metrics (addresses or networks, and/or a bearer token).
        "LOG_FORMAT": _choice("LOG_FORMAT", LOG_FORMATS, "json" if is_production else "text"),
        "READY_SCHEDULER_HEARTBEAT_SECONDS": _int("READY_SCHEDULER_HEARTBEAT_SECONDS", 120),
        "METRICS_ALLOWED_IPS": _networks(
            os.environ.get("METRICS_ALLOWED_IPS", "127.0.0.1/32,::1/128")
        ),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # Find a mediator and the API count matches exactly up to this many, and show pages
        # up to it; beyond, "more than" this many match and the search must be narrowed.
        "SEARCH_COUNT_CAP": _positive_int("SEARCH_COUNT_CAP", 10_000),
    }


def _spread(symbols: Sequence[object]) -> float:
    """Return the bits per symbol of ``symbols``' frequencies (Shannon, Miller-Madow corrected).

    The correction adds what a short sample of a random source hides: the symbols it has not
    repeated yet.
    """
    if not symbols:
        return 0.0
    total = len(symbols)
    counts = Counter(symbols).values()
    shannon = -sum(count / total * math.log2(count / total) for count in counts)
    return shannon + (len(counts) - 1) / (2 * total * math.log(2))


def estimated_entropy_bits(secret: str) -> float:
    """Estimate, on the low side, how many bits of randomness ``secret`` holds.

    Three views of the string, of which the poorest counts: how evenly its characters are
    spread ("aaaa…" holds nothing), how evenly the steps between neighbours are spread
    ("abcdefgh…" is one step repeated), and how well it compresses (a short part repeated,
    "changemechangeme…", compresses to that part).
    """
    if not secret:
        return 0.0
    steps = [ord(after) - ord(before) for before, after in itertools.pairwise(secret)]
    per_character = min(_spread(secret), _spread(steps))
    data = secret.encode()
    compressed = max(0, len(zlib.compress(data, 9)) - _ZLIB_OVERHEAD)
    return len(secret) * per_character * min(1.0, compressed / len(data))


def secret_problem(secret: str | None) -> str | None:
    """Return why ``secret`` cannot protect a production site, or None if it can."""
    if not secret or secret.lower() in WEAK_SECRETS:
        return "it is missing or a well-known default"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"it has {len(secret)} characters; at least {MIN_SECRET_LENGTH} are needed"
    bits = estimated_entropy_bits(secret)
    if bits < MIN_SECRET_BITS:
        return (
            f"it holds about {bits:.0f} bits of randomness (repeated or sequential characters);"
            f" at least {MIN_SECRET_BITS} are needed"
        )
    return None


def _without_password(uri: str) -> str:
    """Return ``uri`` with any password in it replaced, for messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_rate_limit_storage(config: Mapping[str, Any]) -> None:
    """Refuse rate-limit storage that cannot hold limits across web processes, or is down.

    ``memory://`` counts in each process alone: with several gunicorn workers every worker
    would allow the whole limit again, so production refuses it. Any other storage (Redis) must
    answer now, so a site never starts with limits it cannot count.
    """
    if not config.get("RATELIMIT_ENABLED", True):
        return
    uri = config["RATELIMIT_STORAGE_URI"]
    if uri.startswith("memory://"):
        if config["REGISTRY_ENV"] == "production":
            raise ConfigError(
                "REGISTRY_ENV=production needs RATELIMIT_STORAGE_URI set to storage every web"
                " process shares, such as redis://127.0.0.1:6379/0: memory:// counts in each"
                " process alone."
            )
        return
    options = {"socket_connect_timeout": 5, "socket_timeout": 5} if uri.startswith("redis") else {}
    try:
        answers = storage_from_string(uri, **options).check()
    except Exception:
        answers = False
    if not answers:
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI {_without_password(uri)} does not answer, so sign-in and"
            " API rate limits could not be counted. Start it (or fix the address) and try again."
        )


def resolve_secret_key(config: dict, instance_path: Path) -> str:
    """Return the secret key, generating and keeping one in the instance folder if none given.

    Production refuses both a missing and a weak secret: a generated file secret is not
    shared between hosts, and a guessable one lets anyone forge sessions.
    """
    given = config.get("SECRET_KEY")
    if config["REGISTRY_ENV"] == "production":
        problem = secret_problem(given)
        if problem:
            raise ConfigError(
                f"REGISTRY_ENV=production needs SECRET_KEY set to a random value: {problem}."
                f" Generate one with {GENERATE_SECRET}"
            )
        return given
    if given:
        return given
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.touch(mode=0o600)
    key_file.write_text(key)
    return key
