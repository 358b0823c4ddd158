"""What every page shares: error pages without stack traces, security headers, health."""

import pytest
from flask import Flask, request

from tests.conftest import make_test_app


def test_home_page(client):
    response = client.get("/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '<a class="skip-link" href="#main">' in text
    assert "Register as a mediator" in text


def test_security_headers(client):
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/no-such-page", "/api/v1/mediators"])
def test_production_tells_browsers_to_use_https_only(app, client, monkeypatch, path):
    monkeypatch.setitem(app.config, "REGISTRY_ENV", "production")
    header = client.get(path).headers["Strict-Transport-Security"]
    assert header == "max-age=63072000; includeSubDomains"


def test_no_https_only_header_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_not_found_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_method_not_allowed_page(client):
    assert client.get("/logout").status_code == 405


def test_health_check(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


@pytest.fixture
def failing_app(app) -> Flask:
    broken = make_test_app(app.config["DATABASE_URL"], PROPAGATE_EXCEPTIONS=False)

    @broken.route("/explode")
    def explode():
        raise RuntimeError("secret internals")

    explode.access = "public"
    return broken


def test_server_error_page_shows_no_stack_trace(failing_app, caplog):
    response = failing_app.test_client().get("/explode")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Something went wrong" in text
    assert "secret internals" not in text
    assert "Traceback" not in text
    assert "secret internals" in caplog.text  # ...but the log has it


@pytest.mark.parametrize(("proxies", "seen"), [(0, "10.0.0.1"), (1, "203.0.113.7")])
def test_the_client_address_comes_from_a_trusted_proxy_only(app, proxies, seen):
    behind = make_test_app(app.config["DATABASE_URL"], TRUSTED_PROXIES=proxies)

    @behind.route("/whoami")
    def whoami():
        return request.remote_addr

    whoami.access = "public"
    response = behind.test_client().get(
        "/whoami",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.get_data(as_text=True) == seen
