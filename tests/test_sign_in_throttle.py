"""Sign-in limits that hold: shared storage across processes, and a per-account back-off that
an attacker cannot turn into a lock-out."""

from datetime import timedelta

import pytest
import redis
from sqlalchemy import select

from registry import create_app
from registry.accounts import throttle
from registry.accounts.models import SignInThrottle
from registry.config import ConfigError, check_rate_limit_storage
from registry.database import utcnow
from registry.extensions import limiter
from tests.conftest import TEST_SECRET, csrf_token, free_port, make_test_app, post_form
from tests.factories import PASSWORD, make_user

WAIT = "Too many failed sign-ins with this address."


def sign_in(client, email="person@example.org", password=PASSWORD, address="192.0.2.1"):
    client.environ_base["REMOTE_ADDR"] = address
    return post_form(client, "/login", {"email": email, "password": password})


def key_of(ctx_session, email, device=None):
    return throttle.throttle_key(ctx_session, email, device)


# -- Storage the web processes share -------------------------------------------------------


def test_production_refuses_limits_counted_in_each_process(monkeypatch):
    config = {
        "REGISTRY_ENV": "production",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI set to storage every web"):
        check_rate_limit_storage(config)
    check_rate_limit_storage({**config, "REGISTRY_ENV": "development"})
    check_rate_limit_storage({**config, "RATELIMIT_ENABLED": False})


def test_a_configured_redis_that_is_down_stops_the_start(app, tmp_path):
    down = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError, match="does not answer") as refused:
        make_test_app(app.config["DATABASE_URL"], RATELIMIT_STORAGE_URI=down)
    assert "hunter2" not in str(refused.value) and ":***@127.0.0.1" in str(refused.value)


def test_production_starts_on_shared_storage(shared_redis, monkeypatch, tmp_path):
    monkeypatch.setenv("REGISTRY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", shared_redis)
    assert create_app().config["RATELIMIT_STORAGE_URI"] == shared_redis


def test_the_sign_in_limit_holds_across_processes(app, shared_redis):
    """Two apps stand for two gunicorn workers: each counts in the same Redis.

    The limit (10 a minute per address) covers registration too; a refused e-mail address
    writes nothing, so the workers need no data of this test.
    """
    workers = [
        make_test_app(app.config["DATABASE_URL"], RATELIMIT_STORAGE_URI=shared_redis)
        for _ in range(2)
    ]
    browser = workers[0].test_client()
    browser.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    data = {"csrf_token": csrf_token(browser, "/register"), "name": "X", "email": "not-valid"}
    codes = []
    for attempt in range(11):
        # The same browser (cookies and all) reaches one worker, then the other.
        browser.application = workers[attempt % 2]
        codes.append(browser.post("/register", data=data).status_code)
    assert codes == [200] * 10 + [429]
    assert redis.Redis.from_url(shared_redis).dbsize() > 0


# -- The per-account back-off --------------------------------------------------------------


def test_the_wait_doubles_after_five_failures_up_to_fifteen_minutes():
    waits = [throttle.delay_after(failures).total_seconds() for failures in range(1, 18)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:11] == [1, 2, 4, 8, 16, 32, 64]
    assert waits[-1] == 900 and max(waits) == 900
    assert throttle.delay_after(10**6) == timedelta(minutes=15)


def test_failures_are_counted_and_a_quiet_day_forgets_them(ctx, session):
    key = key_of(session, "person@example.org")
    now = utcnow()
    for expected in range(1, 7):
        assert throttle.record_failed_sign_in(session, key, now) == expected
    assert throttle.sign_in_wait(session, key, now) == timedelta(seconds=2)
    assert throttle.sign_in_wait(session, key, now + timedelta(seconds=2)) is None
    later = now + timedelta(hours=25)
    assert throttle.record_failed_sign_in(session, key, later) == 1
    assert throttle.sign_in_wait(session, key, later) is None


def test_an_address_under_attack_from_many_machines_is_slowed(client, session):
    make_user(session)
    for number in range(5):
        response = sign_in(client, password="guess-guess", address=f"203.0.113.{number}")
        assert "not correct" in response.get_data(as_text=True)
    row = session.scalar(select(SignInThrottle))
    assert row.failures == 5 and row.blocked_until > utcnow()
    for _ in range(5):  # the attack goes on
        throttle.record_failed_sign_in(session, row.key, utcnow())
    # Even the right password waits, from a new machine: the guess is not even checked.
    response = sign_in(client, address="203.0.113.200")
    assert response.status_code == 429
    assert WAIT in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_an_address_without_an_account_is_slowed_alike(client, session):
    for _ in range(10):
        throttle.record_failed_sign_in(session, key_of(session, "nobody@example.org"), utcnow())
    response = sign_in(client, email="Nobody@Example.org")
    assert response.status_code == 429 and WAIT in response.get_data(as_text=True)


def test_the_owner_signs_in_from_a_known_browser_during_an_attack(app, client, session):
    make_user(session)
    assert sign_in(client).status_code == 303  # the owner's browser, trusted from now on
    cookie = client.get_cookie(throttle.DEVICE_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    post_form(client, "/logout", {}, form_url="/account")
    for _ in range(12):
        throttle.record_failed_sign_in(session, key_of(session, "person@example.org"), utcnow())
    stranger = app.test_client()
    assert sign_in(stranger).status_code == 429
    assert sign_in(client).status_code == 303
    assert client.get("/account").status_code == 200


def test_a_trusted_browser_cookie_counts_only_for_its_own_account(app, client, session):
    make_user(session)
    make_user(session, email="other@example.org", name="Olga Other")
    sign_in(client)
    device = client.get_cookie(throttle.DEVICE_COOKIE).value
    with app.app_context():
        own, plain = (
            key_of(session, "person@example.org", device),
            key_of(session, "person@example.org"),
        )
        assert own != plain
        assert key_of(session, "other@example.org", device) == key_of(session, "other@example.org")
        assert key_of(session, "person@example.org", "forged") == plain


def test_a_successful_sign_in_clears_the_count(client, session):
    make_user(session)
    sign_in(client, password="guess-guess")
    assert session.scalar(select(SignInThrottle)) is not None
    assert sign_in(client).status_code == 303
    assert session.scalar(select(SignInThrottle)) is None


def test_an_app_without_limits_leaves_the_next_app_its_limits(app):
    """flask-limiter would default the next app's RATELIMIT_ENABLED to the last app's value."""
    unlimited = make_test_app(app.config["DATABASE_URL"], RATELIMIT_ENABLED=False)
    assert not limiter.enabled
    limited = make_test_app(app.config["DATABASE_URL"])
    assert limited.config["RATELIMIT_ENABLED"] is True and limiter.enabled
    for made in (unlimited, limited):
        made.extensions["db"].engine.dispose()
