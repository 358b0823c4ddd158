"""Liveness, readiness and metrics: what a load balancer and Prometheus are told."""

import ipaddress
import json
import logging
import sys
from datetime import date, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from registry.config import ConfigError, load_config
from registry.database import utcnow
from registry.logs import make_formatter
from registry.mail.services import queue_mail
from registry.migrate import head_revision
from registry.scheduling.lease import acquire_lease, this_process
from registry.scheduling.models import JobRun
from tests.conftest import make_test_app

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:9/registry"


def samples(response) -> dict[tuple[str, tuple], float]:
    """Read a Prometheus text answer into {(name, sorted labels): value}."""
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def heartbeat(session, seconds_ago: float = 0) -> None:
    acquire_lease(session, this_process(), utcnow() - timedelta(seconds=seconds_ago))
    session.commit()


# --- /healthz and /readyz ------------------------------------------------------------------------


def test_healthz_answers_without_asking_the_database():
    app = make_test_app(UNREACHABLE_POSTGRES)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_is_unready_when_the_database_does_not_answer(caplog):
    app = make_test_app(UNREACHABLE_POSTGRES)
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unready",
        "checks": {"database": {"ok": False, "reason": "the database does not answer"}},
    }
    assert "readiness: the database does not answer" in caplog.text


def test_readyz_is_ready_with_the_schema_at_head_and_a_fresh_heartbeat(client, session):
    heartbeat(session, seconds_ago=5)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["ok"]
    assert 5 <= body["checks"]["scheduler"]["heartbeat_age_seconds"] < 60
    assert "Set-Cookie" not in response.headers


def test_readyz_is_unready_without_a_scheduler(client, session):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["scheduler"] == {
        "ok": False,
        "reason": "no scheduler holds the lease",
    }


def test_readyz_is_unready_when_the_heartbeat_is_too_old(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "READY_SCHEDULER_HEARTBEAT_SECONDS", 60)
    heartbeat(session, seconds_ago=61)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "(limit 60 s)" in response.get_json()["checks"]["scheduler"]["reason"]


def test_readyz_can_leave_the_scheduler_out(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "READY_SCHEDULER_HEARTBEAT_SECONDS", 0)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["scheduler"] == {"ok": True, "checked": False}


def test_readyz_is_unready_when_the_schema_is_behind_the_code(app, client, session):
    heartbeat(session)
    head = head_revision(app.extensions["db"].engine)
    session.execute(text("UPDATE alembic_version SET version_num = '0012'"))
    session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == {
        "ok": False,
        "reason": f"schema at 0012, code needs {head}",
    }
    assert head > "0012"


def test_probes_are_never_rate_limited(app, session):
    limited = make_test_app(app.config["DATABASE_URL"], API_RATE_LIMIT="1 per minute")
    client = limited.test_client()
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    limited.extensions["db"].engine.dispose()


# --- /metrics ------------------------------------------------------------------------------------


def test_metrics_time_requests_by_endpoint_not_by_path(client, session):
    client.get("/mediators/M-NOSUCH")
    client.get("/mediators/M-OTHER")
    found = samples(client.get("/metrics"))
    labels = (("endpoint", "search.profile"), ("method", "GET"), ("status", "404"))
    assert found[("registry_http_request_duration_seconds_count", labels)] >= 2
    assert not any("M-NOSUCH" in str(key) for key in found)
    # The probes and the scrape itself are not timed.
    assert not any(("endpoint", "monitoring.metrics") in key[1] for key in found)


def test_metrics_count_the_mail_queue_and_the_jobs_from_the_database(client, session):
    now = utcnow()
    for number in range(3):
        queue_mail(session, to=f"p{number}@example.org", subject="s", body="b", now=now)
    session.add(
        JobRun(
            job_name="lifecycle",
            run_on=date(2026, 12, 6),
            started_at=now - timedelta(seconds=42),
            finished_at=now,
            summary={},
        )
    )
    session.add(
        JobRun(
            job_name="lifecycle",
            run_on=date(2026, 12, 5),
            started_at=now - timedelta(days=1, seconds=7),
            finished_at=now - timedelta(days=1),
            summary={},
        )
    )
    heartbeat(session, seconds_ago=3)
    found = samples(client.get("/metrics"))
    assert found[("registry_database_up", ())] == 1
    assert found[("registry_mail_outbox_messages", (("status", "queued"),))] == 3
    assert found[("registry_mail_outbox_messages", (("status", "failed"),))] == 0
    job = (("job", "lifecycle"),)
    assert found[("registry_job_last_duration_seconds", job)] == pytest.approx(42)
    assert found[("registry_job_last_success_timestamp_seconds", job)] == pytest.approx(
        now.timestamp()
    )
    assert found[("registry_job_last_run_date_timestamp_seconds", job)] == pytest.approx(
        1796515200  # 2026-12-06 00:00 UTC
    )
    assert 3 <= found[("registry_scheduler_heartbeat_age_seconds", ())] < 60


def test_metrics_count_rate_limit_rejections(app, session):
    limited = make_test_app(app.config["DATABASE_URL"], API_RATE_LIMIT="1 per minute")
    client = limited.test_client()
    key = ("registry_rate_limit_rejections_total", (("endpoint", "api.openapi"),))
    before = samples(client.get("/metrics")).get(key, 0)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 429
    assert client.get("/api/v1/openapi.json").status_code == 429
    assert samples(client.get("/metrics"))[key] == before + 2
    limited.extensions["db"].engine.dispose()


@pytest.mark.parametrize(
    ("address", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("10.1.2.3", {}, True),  # inside 10.0.0.0/8
        ("203.0.113.5", {}, False),
        ("203.0.113.5", {"Authorization": "Bearer s3cret-scrape-token"}, True),
        ("203.0.113.5", {"Authorization": "Bearer wrong"}, False),
        # Relayed by a proxy the site was not told to trust: the address proves nothing.
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, False),
    ],
)
def test_metrics_are_only_for_the_configured_scrapers(
    app, client, session, monkeypatch, address, headers, allowed
):
    networks = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_IPS", networks)
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-scrape-token")
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        assert b"registry_database_up" in response.data


def test_json_logs_carry_level_logger_message_and_traceback():
    formatter = make_formatter("json")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("registry.x", logging.ERROR, "f", 1, "failed %s", ("x",), None)
        record.exc_info = sys.exc_info()
    line = json.loads(formatter.format(record))
    assert line["level"] == "ERROR"
    assert line["logger"] == "registry.x"
    assert line["message"] == "failed x"
    assert "ValueError: boom" in line["exc_info"]
    assert line["time"].endswith("+00:00")


def test_production_logs_json_and_other_settings_are_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("REGISTRY_ENV", "production")
    assert load_config(tmp_path)["LOG_FORMAT"] == "json"
    monkeypatch.setenv("REGISTRY_ENV", "development")
    assert load_config(tmp_path)["LOG_FORMAT"] == "text"
    monkeypatch.setenv("METRICS_ALLOWED_IPS", "10.0.0.0/8, 192.0.2.7")
    assert load_config(tmp_path)["METRICS_ALLOWED_IPS"] == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    )
    monkeypatch.setenv("METRICS_ALLOWED_IPS", "10.0.0.0/8, intranet")
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_IPS"):
        load_config(tmp_path)
    monkeypatch.delenv("METRICS_ALLOWED_IPS")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json"):
        load_config(tmp_path)
