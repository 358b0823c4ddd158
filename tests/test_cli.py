"""Set-up commands: configuration checks, users create, demo data."""

import base64
import re
import secrets
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from registry import create_app
from registry.accounts.models import Role, User
from registry.cli import main
from registry.clock import local_today
from registry.config import ConfigError, secret_problem
from registry.database import db
from registry.demo import DEMO_PASSWORD, MEDIATOR_COUNT, STAFF
from registry.events.models import Event
from registry.mail.models import OutboxMessage
from registry.scheduling.registry import get_jobs, run_daily_job


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "missing or a well-known default"),
        ("dev", "missing or a well-known default"),
        ("short-but-not-default", "21 characters; at least 32"),
        ("a" * 32, "bits of randomness"),
        ("x" * 48, "bits of randomness"),
        ("changeme" * 4, "bits of randomness"),
        ("changemechangemechangemechangeme!!", "bits of randomness"),
        ("abcdefghijklmnopqrstuvwxyz012345", "bits of randomness"),
        ("0123456789abcdef" * 2, "bits of randomness"),
        ("k8Jd93kLm2Pq" * 3, "bits of randomness"),
    ],
)
def test_production_refuses_a_default_or_weak_secret(monkeypatch, secret, reason):
    monkeypatch.setenv("REGISTRY_ENV", "production")
    config = {"SECRET_KEY": secret} if secret else {}
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY") as refused:
        create_app(config)
    assert reason in str(refused.value)
    assert "secrets.token_urlsafe(48)" in str(refused.value)


@pytest.mark.parametrize(
    "generate",
    [
        lambda: secrets.token_urlsafe(48),
        lambda: secrets.token_urlsafe(24),
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    ],
    ids=["token_urlsafe(48)", "token_urlsafe(24)", "token_hex(32)", "openssl rand -base64 32"],
)
def test_generated_secrets_are_strong_enough(generate):
    assert all(secret_problem(generate()) is None for _ in range(300))


def test_production_starts_with_a_real_secret(monkeypatch, tmp_path, shared_redis):
    monkeypatch.setenv("REGISTRY_ENV", "production")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", shared_redis)
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["MAIL_BACKEND"] == "smtp"


def test_development_keeps_a_generated_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("REGISTRY_ENV", "development")
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app().config["SECRET_KEY"]
    assert len(first) >= 32
    assert create_app().config["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def run(url, *args, input=None, env=None):
    return CliRunner().invoke(
        main, list(args), input=input, env={"DATABASE_URL": url, **(env or {})}
    )


PASSPHRASE = "a long enough passphrase\n"


def create_account(url, email, *roles, password=PASSPHRASE, options=()):
    """Run `users create` for ``email`` with ``roles``, typing ``password``."""
    role_options = [part for role in roles for part in ("--role", role)]
    return run(url, "users", "create", "--email", email, *role_options, *options, input=password)


def test_users_create_with_roles(fresh_app, fresh_database_url):
    result = create_account(
        fresh_database_url, "Chair@Example.org", "committee_member", "appraiser"
    )
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.email == "chair@example.org"))
        assert user.roles == {Role.COMMITTEE_MEMBER, Role.APPRAISER}

    again = create_account(fresh_database_url, "chair@example.org", "support")
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_users_create_refuses_bad_input(fresh_app, fresh_database_url):
    short = create_account(fresh_database_url, "x@example.org", "support", password="short\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    bad_email = create_account(fresh_database_url, "not-an-address", "support")
    assert bad_email.exit_code == 1
    assert "not a valid e-mail address" in bad_email.output
    unknown = create_account(fresh_database_url, "x@example.org", "wizard")
    assert unknown.exit_code == 2
    with db.transaction() as session:
        assert session.scalar(select(func.count(User.id))) == 0


def test_users_create_invitation_mails_a_link(fresh_app, fresh_database_url):
    result = create_account(
        fresh_database_url, "new@example.org", "support", password=None, options=["--invite"]
    )
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        mail = session.scalar(select(OutboxMessage))
        assert mail.subject == "Choose your Mediator Registry password"
        assert "/password/reset/" in mail.body_text


@pytest.mark.xdist_group("demo")  # one worker loads the demo for every test that uses it
def test_demo_loads_once_with_every_role(demo):
    assert DEMO_PASSWORD in demo.output
    assert "already loaded" in run(demo.url, "demo").output
    with db.transaction() as session:
        assert session.scalar(select(func.count(User.id))) == len(STAFF) + MEDIATOR_COUNT
        held = set().union(*(user.roles for user in session.scalars(select(User))))
        assert held == set(Role)


D = date.fromisoformat


@pytest.mark.xdist_group("demo")
def test_the_first_daily_run_on_the_demo_mails_nobody_about_the_past(demo):
    with db.transaction() as session:
        before = session.scalar(select(func.max(OutboxMessage.id))) or 0
    daily = get_jobs().daily
    for name in ("lifecycle", "complaints-overdue", "digests"):
        run_daily_job(daily[name], local_today())
    oldest = local_today() - timedelta(days=15)  # the last covered day of a recent lapse
    with db.transaction() as session:
        lapses = session.scalars(
            select(OutboxMessage.body_text)
            .where(OutboxMessage.subject == "Your certification has lapsed")
            .where(OutboxMessage.id > before)
        ).all()
        ended = [
            datetime.strptime(re.search(r"ended on\s+(\d+ \w+ \d{4}) ", body)[1], "%d %B %Y").date()
            for body in lapses
        ]
        assert all(day >= oldest for day in ended), ended
        (not_sent,) = session.scalars(select(Event).where(Event.action == "reminders.not_sent"))
        assert not_sent.data["counts"]["lapsed"] >= 20


def test_demo_refuses_a_production_database_with_data(fresh_app, fresh_database_url):
    create_account(fresh_database_url, "real@example.org", "administrator")
    env = {"REGISTRY_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48)}
    result = run(fresh_database_url, "demo", env=env)
    assert result.exit_code == 1
    assert "only into an empty or development database" in result.output
    with db.transaction() as session:
        assert session.scalar(select(func.count(User.id))) == 1


def test_serve_refuses_an_uninitialised_database(fresh_database_url):
    result = run(fresh_database_url, "serve", "--no-scheduler")
    assert result.exit_code == 1
    assert "mediator-registry init" in result.output
