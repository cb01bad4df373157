"""Backup and restore as docs/operations.md describes it: `pg_dump -Fc` of a database holding a month,
`pg_restore` into a fresh database, and the app served from the restored database shows the same
records, tasks and history (PostgreSQL only)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask

from . import test_month_api as month
from .conftest import IsolatedClient
from .support import Api

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("postgresql"),
    reason="backup and restore use pg_dump/pg_restore: PostgreSQL only",
)


def _libpq(url) -> list[str]:
    u = make_url(url)
    return ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]


def _state():
    records = [
        (r.subject_id, r.period, r.status, r.total, r.level, r.published_at, r.locked_at)
        for r in db.session.scalars(select(EvaluationRecord).order_by(EvaluationRecord.id))
    ]
    tasks = [
        (t.id, t.instance_id, t.step, t.status, t.assignee_id, t.due_at)
        for t in db.session.scalars(select(HumanTask).order_by(HumanTask.id))
    ]
    events = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    return records, tasks, events


def test_a_month_survives_dump_and_restore(ctx, client, tmp_path):
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump/pg_restore not installed")
    month.test_full_month_through_the_api(client)  # a whole month, locked
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": "2030-04"}).status_code == 200  # and one open
    tasks_of_ttb = sorted((t["id"], t["step"]) for t in Api(client, "ttb").tasks())
    before = _state()
    assert before[1] and any(t[3] == "ready" for t in before[1]) and any(t[3] == "completed" for t in before[1])

    source = make_url(ctx.config["SQLALCHEMY_DATABASE_URI"])
    dump = tmp_path / "danhgia.dump"
    subprocess.run(["pg_dump", *_libpq(source), "-Fc", "-f", str(dump), source.database], check=True, timeout=300)

    restored_name = f"{source.database}_restored"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_name}"'))
        conn.execute(text(f'CREATE DATABASE "{restored_name}"'))
    try:
        subprocess.run(
            ["pg_restore", *_libpq(source), "--no-owner", "--exit-on-error", "-d", restored_name, str(dump)],
            check=True,
            timeout=300,
        )
        restored = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": source.set(database=restored_name).render_as_string(hide_password=False),
                "TESTING": True,
            }
        )
        restored.test_client_class = IsolatedClient
        with restored.app_context():
            rc = restored.test_client()
            assert rc.get("/readyz").status_code == 200  # schema at head: nothing to migrate
            assert _state() == before  # read before any sign-in adds to the history
            assert sorted((t["id"], t["step"]) for t in Api(rc, "ttb").tasks()) == tasks_of_ttb
            report = Api(rc, "nva").get(f"/reports/monthly?unit=SNV&period={month.PERIOD}").get_json()
            assert report["counts"] == {"A": 2, "B": 6, "C": 2, "D": 2, "none": 0}
            # the restored history is still append-only (its trigger came back with it)
            with pytest.raises(Exception):
                with db.engine.begin() as conn:
                    conn.execute(text("DELETE FROM audit_events"))
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)'))
        admin.dispose()
