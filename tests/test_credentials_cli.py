"""The key and credential commands, and a production site that cannot sign refusing to start."""

import secrets
from datetime import date, timedelta

from click.testing import CliRunner

from registry.cli import main
from registry.credentials.issuing import issue_credential
from registry.database import db, utcnow
from registry.search.verification import verify_certificate
from tests.factories import grant, make_mediator, set_fees


def run(url, keys, *args, env=None):
    environment = {
        "DATABASE_URL": url,
        "SIGNING_KEYS_DIR": str(keys),
        "PUBLIC_URL": "http://registry.test",  # as the test app that issued
        **(env or {}),
    }
    return CliRunner().invoke(main, list(args), env=environment)


def test_keys_rotate_list_and_retire(fresh_app, fresh_database_url, tmp_path):
    keys = tmp_path / "keys"
    first = run(fresh_database_url, keys, "keys", "rotate")
    assert first.exit_code == 0, first.output
    second = run(fresh_database_url, keys, "keys", "rotate")
    old, new = (r.output.split()[3].rstrip(";") for r in (first, second))
    listing = run(fresh_database_url, keys, "keys", "list").output
    assert f"{old}  published" in listing and f"{new}  current" in listing
    refused = run(fresh_database_url, keys, "keys", "retire", "--", new)
    assert refused.exit_code == 1 and "rotate first" in refused.output
    assert run(fresh_database_url, keys, "keys", "retire", "--", old).exit_code == 0
    assert f"{old}  retired" in run(fresh_database_url, keys, "keys", "list").output
    unknown = run(fresh_database_url, keys, "keys", "retire", "no-such-key")
    assert unknown.exit_code == 1 and "There is no key" in unknown.output


def test_credentials_verify_exits_zero_only_when_valid(fresh_app, fresh_database_url, tmp_path):
    keys = tmp_path / "keys"
    fresh_app.config["SIGNING_KEYS_DIR"] = str(keys)
    today = date.today()
    with db.transaction() as session:
        set_fees(session, years=range(today.year - 1, today.year + 2))
        certification = grant(
            session, make_mediator(session, name="Vera Valid"), on=today - timedelta(days=5)
        )
        number = certification.certificate_number
    with db.transaction() as session:
        found = verify_certificate(session, number, today)
        token = issue_credential(session, found, utcnow())
    good = tmp_path / "good.jwt"
    good.write_text(token, encoding="utf-8")
    result = run(fresh_database_url, keys, "credentials", "verify", str(good))
    assert result.exit_code == 0, result.output
    assert f"Valid: Vera Valid, certificate {number}." in result.output
    bad = tmp_path / "bad.jwt"
    bad.write_text(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    result = run(fresh_database_url, keys, "credentials", "verify", str(bad))
    assert result.exit_code == 1 and "altered" in result.output
    rebuilt = run(fresh_database_url, keys, "credentials", "rebuild-status")
    assert rebuilt.exit_code == 0 and "of 1 certifications" in rebuilt.output


def test_production_refuses_to_serve_without_a_signing_key(fresh_app, fresh_database_url, tmp_path):
    production = {"REGISTRY_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48)}
    result = run(fresh_database_url, tmp_path / "none", "serve", "--no-scheduler", env=production)
    assert result.exit_code == 1
    assert "No signing key" in result.output and "keys rotate" in result.output
