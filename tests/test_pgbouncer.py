"""The app behind PgBouncer in transaction pooling (docs/operations.md, "PgBouncer"): the tests start
Debian's pgbouncer (`make pgbouncer` installs it; `make test` depends on it) on a free port in front of
the suite's PostgreSQL, and run a month through it: every step through the unit of work (row locks), the
same step sent twice at once done once, the decision, the dashboard.

Transaction pooling lends a server connection for one transaction: anything a client leaves on its
connection (a prepared statement, a session `SET`) is met by the next client of that server
connection. The pooler's second database `tight` has ONE server connection for all its clients, which
makes that sharing certain: without DATABASE_PGBOUNCER psycopg's prepared statements collide there, with
it nothing is prepared and lock_timeout is set per transaction."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask, User

from .conftest import PERIOD
from .monitor_seed import PUBLISHED, instance_id, seed_month
from .support import Api, scores_for
from .test_pages import login
from .test_replica import other_app

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("postgresql"),
    reason="PgBouncer pools PostgreSQL connections",
)


def _binary() -> str:
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if not found:  # not a skip: `make test` installs it, and CI must run this test
        pytest.fail("pgbouncer is not installed: run `make pgbouncer` (Debian's package)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pgbouncer(app):
    """A pgbouncer process in transaction pooling in front of the suite's database: the URL of the
    suite's database through it, and of `tight` (the same database, one server connection)."""
    direct = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="danhgia-pgbouncer-"))
    server = f"host={direct.host or '127.0.0.1'} port={direct.port or 5432} user={direct.username or 'postgres'}"
    (tmp / "pgbouncer.ini").write_text(f"""[databases]
{direct.database} = {server} dbname={direct.database} pool_size=4
tight = {server} dbname={direct.database} pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 200
query_wait_timeout = 15
logfile = {tmp / "pgbouncer.log"}
""")
    args = [_binary(), str(tmp / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root: drop to postgres
        shutil.chown(tmp, "postgres")
        os.chmod(tmp, 0o755)
        args[1:1] = ["-u", "postgres"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"pgbouncer exited with {proc.returncode}: {proc.stdout.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("pgbouncer did not listen")
                time.sleep(0.1)
        through = direct.set(host="127.0.0.1", port=port, password=None)
        yield {
            "url": through.render_as_string(hide_password=False),
            "tight": through.set(database="tight").render_as_string(hide_password=False),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_month_through_pgbouncer_in_transaction_pooling(client, pgbouncer):
    pooled = other_app(client.application, SQLALCHEMY_DATABASE_URI=pgbouncer["url"], DATABASE_PGBOUNCER=True)
    try:
        with pooled.app_context():
            assert db.engine.url.port != make_url(client.application.config["SQLALCHEMY_DATABASE_URI"]).port
            web = pooled.test_client()
            hr = seed_month(web)  # opening, self-evaluations, reviews, the batch decision: row locks

            # the same review sent twice at the same moment: done once, the other told 409
            task = db.session.execute(
                select(HumanTask.id, User.username)
                .join(User, User.id == HumanTask.assignee_id)
                .where(HumanTask.instance_id == instance_id("nva"), HumanTask.status == "ready")
            ).one()
            db.session.rollback()
            body = dict(scores_for(70), days_worked=21, comment="Nhận xét")
            both = [Api(pooled.test_client(), task.username) for _ in range(2)]
            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda api: api.post(f"/tasks/{task.id}/complete", {"data": body}), both))
            assert sorted(r.status_code for r in answers) == [200, 409], [r.get_json() for r in answers]

            board = hr.get(f"/dashboard?unit=SNV&period={PERIOD}")
            assert board.status_code == 200, board.get_json()
            login(web, "admin")
            assert web.get(f"/dashboard?unit=SNV&period={PERIOD}").status_code == 200

            # every transaction had lock_timeout set for itself (no start-up `options` through PgBouncer)
            assert db.session.scalar(text("SHOW lock_timeout")) == "30s"
            db.session.rollback()

        # what went through the pooler is in the database, once
        published = db.session.scalars(
            select(EvaluationRecord.level).where(
                EvaluationRecord.period == PERIOD, EvaluationRecord.published_at.is_not(None)
            )
        ).all()
        assert sorted(published) == sorted(level for level, _ in PUBLISHED.values())
        assert board.get_json()["summary"]["total"] == db.session.scalar(
            select(func.count())
            .select_from(EvaluationRecord)
            .where(EvaluationRecord.period == PERIOD, EvaluationRecord.status != "terminated")
        )
        done = db.session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.instance_id == instance_id("ttb"), HumanTask.status == "completed")
        )
        completions = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.instance_id == instance_id("ttb"), AuditEvent.action == "task_completed")
        )
        assert done == completions >= 3
    finally:
        with pooled.app_context():
            db.engine.dispose()


def _twice_each(url: str, prepare_threshold) -> None:
    """Two clients sharing the pool's one server connection, each running one query six times, one
    transaction at a time: psycopg prepares a query run 5 times (unless told not to)."""
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        pool_size=2,
        connect_args={} if prepare_threshold == "default" else {"prepare_threshold": None},
    )
    try:
        with engine.connect() as a, engine.connect() as b:  # closed (rolled back) even on the error
            for _ in range(6):
                for conn in (a, b):
                    conn.execute(text("SELECT count(*) FROM units WHERE id > :n"), {"n": 0}).scalar()
                    conn.commit()
    finally:
        engine.dispose()


def test_session_state_leaks_across_clients_in_transaction_pooling(client, pgbouncer):
    """Why DATABASE_PGBOUNCER matters: under transaction pooling a prepared statement or a session SET made
    by one client is met by another. The app prepares nothing and sets its lock_timeout with SET LOCAL."""
    with pytest.raises(DBAPIError, match="prepared statement .* (already exists|does not exist)"):
        _twice_each(pgbouncer["tight"], "default")
    _twice_each(pgbouncer["tight"], None)

    engine = create_engine(pgbouncer["tight"], connect_args={"prepare_threshold": None})
    try:
        with engine.connect() as a, engine.connect() as b:
            a.execute(text("SET statement_timeout = '4321ms'"))  # a session SET, as the app never does
            a.commit()
            assert b.execute(text("SHOW statement_timeout")).scalar() == "4321ms"  # another client sees it
            b.execute(text("RESET statement_timeout"))
            b.commit()
    finally:
        engine.dispose()

    tight = other_app(client.application, SQLALCHEMY_DATABASE_URI=pgbouncer["tight"], DATABASE_PGBOUNCER=True)
    try:
        with tight.app_context():
            for _ in range(8):  # the same ORM query in transactions of their own: nothing prepared
                assert db.session.scalar(select(func.count()).select_from(HumanTask)) is not None
                assert db.session.scalar(text("SHOW lock_timeout")) == "30s"
                db.session.rollback()
            # (the server connection still holds what the psycopg client above prepared: nobody resets it)
            assert (
                db.session.scalar(
                    text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%human_tasks%'")
                )
                == 0
            )
            db.session.rollback()
    finally:
        with tight.app_context():
            db.engine.dispose()
