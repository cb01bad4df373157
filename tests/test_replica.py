"""DATABASE_REPLICA_URL (docs/operations.md, "A read replica"): the dashboards, the HR lists and the
exports read from the replica, everything else from the primary, and a write sent to the replica fails.

On PostgreSQL the "replica" is the test database itself reached through a read-only connection
(`options=-c default_transaction_read_only=on` in its URL), the way a hot standby refuses writes: what
reaches it can only read. On SQLite the setting is refused when the app starts."""

from __future__ import annotations

import os
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.database import REPLICA, engine_options, reads_replica
from app.extensions import db
from app.models import User

from .conftest import PERIOD, IsolatedClient
from .monitor_seed import seed_month
from .support import Api
from .test_pages import login

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("postgresql")
READ = ("evaluation_records", "human_tasks", "audit_events", "record_unit_summary")  # what these pages read
READ_ONLY = "?options=" + quote("-c default_transaction_read_only=on")


def other_app(ctx, **overrides):
    """A second app on the suite's database (what another server with other settings would be)."""
    other = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": ctx.config["SQLALCHEMY_DATABASE_URI"],
            "TESTING": True,
            "WORK_PLAN_PHASE": False,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            **overrides,
        }
    )
    other.test_client_class = IsolatedClient
    return other


@contextmanager
def statements(engine):
    """The SQL an engine ran inside the block."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.mark.skipif(not ON_POSTGRES, reason="a replica is a PostgreSQL server")
def test_dashboards_lists_and_exports_read_the_replica_and_a_write_there_fails(client):
    seed_month(client)  # on the primary, through the suite's own app
    primary_url = client.application.config["SQLALCHEMY_DATABASE_URI"]
    replica = other_app(client.application, DATABASE_REPLICA_URL=primary_url + READ_ONLY)
    try:
        with replica.app_context():
            primary, copy = db.engines[None], db.engines[REPLICA]
            assert copy.url.query["options"] == "-c default_transaction_read_only=on"
            web = replica.test_client()
            login(web, "admin")  # a sign-in writes (audit, lockout): the primary
            api = Api(replica.test_client(), "nva")
            pages = [
                (web.get, "/dashboard?unit=SNV&period=" + PERIOD),
                (web.get, f"/dashboard/evaluations?unit=SNV&period={PERIOD}"),
                (web.get, f"/dashboard/tasks?unit=SNV&period={PERIOD}"),
                (web.get, f"/dashboard/export/monthly.xlsx?unit=SNV&period={PERIOD}"),
                (web.get, "/dashboard/export/rollup.xlsx?unit=SNV&range=2030-Q1"),
                (web.get, "/admin/audit.csv"),
                (api.get, f"/dashboard?unit=SNV&period={PERIOD}"),
                (api.get, f"/evaluations?unit=SNV&period={PERIOD}"),
                (api.get, f"/reports/monthly.xlsx?unit=SNV&period={PERIOD}"),
            ]
            for get, path in pages:
                with statements(primary) as on_primary, statements(copy) as on_replica:
                    resp = get(path)
                assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:300])
                assert any(t in s for s in on_replica for t in READ), path
                assert not any(t in s for s in on_primary for t in READ), path
            board = api.get(f"/dashboard?unit=SNV&period={PERIOD}").get_json()
            assert board["summary"]["total"] > 0 and board["period"] == PERIOD

            # the inbox is not lag-tolerant: it stays on the primary
            with statements(copy) as on_replica:
                assert api.get("/tasks").status_code == 200
            assert on_replica == []

        with replica.test_request_context("/dashboard"):
            # inside a replica view, a write goes to the replica and PostgreSQL refuses it
            write = reads_replica(
                lambda: db.session.execute(
                    update(User).where(User.username == "nva").values(full_name="Ghi qua bản sao")
                )
            )
            with pytest.raises(DBAPIError, match="read-only transaction"):
                write()
            db.session.rollback()
        with replica.app_context():
            # the same write outside such a view reaches the primary
            db.session.execute(update(User).where(User.username == "nva").values(full_name="Ghi vào máy chính"))
            assert db.session.scalar(select(User.full_name).where(User.username == "nva")) == "Ghi vào máy chính"
            db.session.rollback()
    finally:
        with replica.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_the_replica_setting_is_refused_on_sqlite(tmp_path):
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URL needs PostgreSQL"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "DATABASE_REPLICA_URL": "postgresql://postgres@127.0.0.1:5432/danhgia",
            }
        )


def test_engine_options_behind_pgbouncer_prepare_nothing_and_set_per_transaction():
    url = "postgresql+psycopg://app@pgbouncer:6432/danhgia"
    direct = engine_options(url, 30, pgbouncer=False)
    assert direct["connect_args"]["options"] == "-c lock_timeout=30000"
    assert "prepare_threshold" not in direct["connect_args"] and "_session_sql" not in direct
    pooled = engine_options(url, 30, pgbouncer=True, read_only=True)
    # PgBouncer refuses the `options` start-up parameter; a plain SET would stay on a shared server connection
    assert pooled["connect_args"] == {"prepare_threshold": None}
    assert pooled["_session_sql"] == ["SET LOCAL lock_timeout = 30000", "SET TRANSACTION READ ONLY"]
    replica = engine_options(url + READ_ONLY, 5, pgbouncer=False, read_only=True)
    assert replica["connect_args"]["options"] == (
        "-c default_transaction_read_only=on -c lock_timeout=5000 -c default_transaction_read_only=on"
    )


@pytest.mark.skipif(not ON_POSTGRES, reason="a replica is a PostgreSQL server")
def test_a_replica_that_lags_or_is_down_is_left_out_until_it_is_fresh(client, monkeypatch, caplog):
    """Past DATABASE_REPLICA_MAX_LAG_SECONDS, or not answering, the replica's pages read the primary
    (each request chooses once); a later check that finds it caught up sends them back."""
    import logging

    from app import database

    seed_month(client)
    primary_url = client.application.config["SQLALCHEMY_DATABASE_URI"]
    replica = other_app(
        client.application,
        DATABASE_REPLICA_URL=primary_url + READ_ONLY,
        DATABASE_REPLICA_MAX_LAG_SECONDS=10,
        DATABASE_REPLICA_CHECK_SECONDS=0,  # check on every request here
    )
    monkeypatch.setattr(database, "_checks", {})
    lag = {"seconds": 0.0}
    real_lag = database.replica_lag
    assert real_lag.__name__ == "replica_lag"
    try:
        with replica.app_context():
            primary, copy = db.engines[None], db.engines[REPLICA]
            # the real probe on this "replica" (not a standby: no lag) lets it be read
            assert database.replica_lag(copy) == 0.0
            monkeypatch.setattr(database, "replica_lag", lambda engine: lag["seconds"])
            api = Api(replica.test_client(), "nva")
            path = f"/dashboard?unit=SNV&period={PERIOD}"

            def reads() -> tuple[bool, bool]:
                with statements(primary) as on_primary, statements(copy) as on_replica:
                    assert api.get(path).status_code == 200
                return (
                    any(t in s for s in on_primary for t in READ),
                    any(t in s for s in on_replica for t in READ),
                )

            assert reads() == (False, True)
            lag["seconds"] = 120.0
            with caplog.at_level(logging.WARNING, logger="app.database"):
                assert reads() == (True, False)
            assert any("120.0 s behind" in r.getMessage() for r in caplog.records)
            lag["seconds"] = 3.0
            assert reads() == (False, True)
    finally:
        with replica.app_context():
            for engine in db.engines.values():
                engine.dispose()

    # a replica nobody answers at: its pages still answer, from the primary
    down = other_app(client.application, DATABASE_REPLICA_URL="postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setattr(database, "replica_lag", real_lag)
    try:
        with down.app_context():
            primary = db.engines[None]
            api = Api(down.test_client(), "nva")
            with caplog.at_level(logging.WARNING, logger="app.database"), statements(primary) as on_primary:
                resp = api.get(f"/dashboard?unit=SNV&period={PERIOD}")
            assert resp.status_code == 200 and resp.get_json()["summary"]["total"] > 0
            assert any(t in s for s in on_primary for t in READ)
            assert any("not answering" in r.getMessage() for r in caplog.records)
    finally:
        with down.app_context():
            for engine in db.engines.values():
                engine.dispose()
