"""PostgreSQL going away and coming back: 503 while it is away, never a stack trace, and the
same running app serves again once it is back.

The machine's PostgreSQL is shared, so it is never stopped: the app reaches its own test
database through a small TCP proxy that the test cuts (every connection dropped, new ones
refused) and restores, and a restart's effect on open connections is played with
``pg_terminate_backend``.
"""

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from registry.accounts.models import Role
from registry.database import db, utcnow
from registry.migrate import upgrade_to_head
from registry.scheduling.lease import acquire_lease, this_process
from tests.conftest import create_database, drop_database, form_tokens, make_test_app, post_form
from tests.factories import PASSWORD, make_user


class CuttableProxy:
    """Forward 127.0.0.1:<port> to PostgreSQL until cut; refuse and drop everything while cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_open = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.is_open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.is_open = False
        with self.lock:
            for end in self.sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def outage(tmp_path_factory) -> Iterator[tuple]:
    """An app on a migrated PostgreSQL database of its own, reached through a proxy."""
    url = create_database("postgresql", tmp_path_factory)
    direct = sa.create_engine(url)
    upgrade_to_head(direct)
    with direct.begin() as connection, sa.orm.Session(connection) as session:
        acquire_lease(session, this_process(), utcnow())
        session.commit()
    parts = sa.engine.make_url(url)
    proxy = CuttableProxy((parts.host, parts.port or 5432))
    app = make_test_app(parts.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    try:
        yield app, proxy, direct, parts.database
    finally:
        proxy.close()
        app.extensions["db"].engine.dispose()
        direct.dispose()
        drop_database(url)


PAGES = ["/mediators", "/organisations", "/api/v1/mediators"]


def test_readyz_and_pages_fail_during_the_outage_and_recover_without_a_restart(outage):
    app, proxy, _direct, _name = outage
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert all(client.get(page).status_code == 200 for page in PAGES)

    proxy.cut()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"] == {
        "ok": False,
        "reason": "the database does not answer",
    }
    assert client.get("/healthz").status_code == 200  # the process itself is fine
    page = client.get("/mediators")
    assert page.status_code == 503
    html = page.get_data(as_text=True)
    assert "Back in a moment" in html and "nothing of it was saved" in html
    assert "Traceback" not in html and "psycopg" not in html
    assert page.headers["Retry-After"] == "30"
    api = client.get("/api/v1/mediators")
    assert api.status_code == 503
    assert api.get_json() == {
        "error": {
            "status": 503,
            "message": "The registry cannot reach its database just now; try again in a minute.",
        }
    }

    scrape = client.get("/metrics")  # the process's own figures, and the database is down
    assert scrape.status_code == 200
    assert b"registry_database_up 0.0" in scrape.data

    proxy.restore()
    assert client.get("/readyz").status_code == 200
    assert all(client.get(page).status_code == 200 for page in PAGES)
    assert b"registry_database_up 1.0" in client.get("/metrics").data


def test_connections_dropped_by_a_restart_are_replaced_before_use(outage):
    app, _proxy, direct, name = outage
    client = app.test_client()
    assert all(client.get(page).status_code == 200 for page in PAGES)  # the pool holds some

    with direct.connect() as connection:
        killed = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar_one()
    assert killed >= 1

    # Not one request fails: the pool finds the dead connections before using them.
    assert all(client.get(page).status_code == 200 for page in PAGES)
    assert client.get("/readyz").status_code == 200


def test_a_signed_in_person_gets_the_same_page_during_the_outage(outage):
    app, proxy, _direct, _name = outage
    with app.app_context(), db.transaction() as session:
        make_user(session, email="staff@example.org", roles=[Role.SUPPORT])
    client = app.test_client()
    post_form(client, "/login", {"email": "staff@example.org", "password": PASSWORD})
    assert client.get("/staff/mediators").status_code == 200

    proxy.cut()
    page = client.get("/staff/mediators")  # loading the signed-in person fails first
    assert page.status_code == 503
    assert "Back in a moment" in page.get_data(as_text=True)

    proxy.restore()
    assert client.get("/staff/mediators").status_code == 200  # still signed in


@pytest.fixture
def drop_next_statement(outage):
    """Arm: the app's next SQL statement finds its connection terminated by the server."""
    app, _proxy, direct, _name = outage
    armed, dropped = [], []

    @sa.event.listens_for(app.extensions["db"].engine, "before_cursor_execute")
    def terminate(connection, _cursor, statement, *_args):
        if not armed or dropped:
            return
        pid = connection.connection.dbapi_connection.info.backend_pid
        with direct.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        dropped.append(statement)

    yield armed.append, dropped
    sa.event.remove(app.extensions["db"].engine, "before_cursor_execute", terminate)


def test_a_read_whose_connection_drops_mid_request_is_answered_again(
    outage, drop_next_statement, caplog
):
    app, *_ = outage
    arm, dropped = drop_next_statement
    client = app.test_client()
    assert client.get("/organisations").status_code == 200

    arm(True)
    with caplog.at_level(logging.WARNING):
        response = client.get("/organisations")
    assert len(dropped) == 1  # the first answer failed
    assert response.status_code == 200  # and the second, on a fresh connection, did not
    assert "database unavailable on GET /organisations (answering it again once)" in caplog.text


def test_a_write_whose_connection_drops_is_not_sent_again(outage, drop_next_statement):
    app, *_ = outage
    arm, dropped = drop_next_statement
    client = app.test_client()
    tokens = form_tokens(client, "/login")

    arm(True)
    response = client.post(
        "/login", data={**tokens, "email": "nobody@example.org", "password": "wrong password"}
    )
    assert len(dropped) == 1
    assert response.status_code == 503
