"""EXPLAIN the dashboard and list queries (issue #5) on PostgreSQL with a million evaluations.

    .venv/bin/python scripts/explain_monitor.py [postgresql://postgres@127.0.0.1:5432/danhgia_explain] [--reuse]

Creates (drops first) the given database, migrates it, loads the demo, then adds by SQL 100 agencies
x 20 divisions, 200,000 people and five months of them: 1,000,000 process instances, 1,000,000
evaluation records and 1,000,000 human tasks (the last month still running). Then it runs the
dashboard and the lists as an administrator (everything), an HR officer (one agency, ~2,000 people)
and a direct manager (10 people), prints each call's time, and EXPLAIN (ANALYZE, BUFFERS) of every
SELECT the call made. Nothing here is used by the app or the tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
URL = ARGS[0] if ARGS else "postgresql://postgres@127.0.0.1:5432/danhgia_explain"
PERIODS = ["2029-11", "2029-12", "2030-01", "2030-02", "2030-03"]
AGENCIES, DIVISIONS, PEOPLE = 100, 20, 200_000

FILL = """
WITH root AS (SELECT id FROM units WHERE code = 'UBTP')
INSERT INTO units (code, name, parent_id, is_agency)
SELECT 'AG' || a, 'Cơ quan ' || a, (SELECT id FROM root), true FROM generate_series(1, :agencies) a;

INSERT INTO units (code, name, parent_id, is_agency)
SELECT 'AG' || a || '-D' || d, 'Phòng ' || d || ' cơ quan ' || a, u.id, false
FROM generate_series(1, :agencies) a CROSS JOIN generate_series(1, :divisions) d JOIN units u ON u.code = 'AG' || a;

CREATE TEMP TABLE div AS
SELECT row_number() OVER (ORDER BY u.id) - 1 AS n, u.id AS unit_id, u.parent_id AS agency_id
FROM units u WHERE u.code LIKE 'AG%-D%';

INSERT INTO users (username, full_name, email, password_hash, unit_id, position_group, roles, active, created_at)
SELECT 'u' || i,
       (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Vũ','Đặng','Bùi','Đỗ','Hồ'])[1 + i % 10] || ' ' ||
       (ARRAY['Văn','Thị','Minh','Thu','Quang','Ngọc','Đức','Hải'])[1 + (i / 10) % 8] || ' ' ||
       (ARRAY['An','Bình','Cường','Dung','Em','Giang','Hà','Hải','Khánh','Lan','Long','Mai','Nam','Oanh',
              'Phúc','Quân','Sơn','Tâm','Uyên','Vy'])[1 + (i / 80) % 20] || ' ' || i,
       NULL, 'x', d.unit_id, CASE WHEN i % 100 = 0 THEN 'leader' ELSE 'staff' END,
       CASE WHEN i = 1 THEN 'hr_officer' ELSE '' END, true, now()
FROM generate_series(1, :people) i JOIN div d ON d.n = i % (:agencies * :divisions);

-- the first person of each division manages the others there
UPDATE users u SET manager_id = m.id
FROM (SELECT DISTINCT ON (unit_id) id, unit_id FROM users WHERE username LIKE 'u%' ORDER BY unit_id, id) m
WHERE u.unit_id = m.unit_id AND u.id <> m.id AND u.username LIKE 'u%';

CREATE TEMP TABLE p AS SELECT row_number() OVER () AS k, x AS period FROM unnest(CAST(:periods AS text[])) x;

INSERT INTO process_instances (version_id, subject_id, unit_id, agency_id, period, status, step, snapshot,
                               serializer_version, lock_version, created_at, updated_at)
SELECT (SELECT max(id) FROM process_versions), u.id, u.unit_id, d.agency_id, p.period,
       CASE WHEN p.k < 5 THEN 'completed' ELSE 'running' END,
       CASE WHEN p.k < 5 THEN 'locked' ELSE (ARRAY['self_evaluation','review','decision','waiting'])[1 + u.id % 4] END,
       '', 'x', 1, now(), now()
FROM users u JOIN div d ON d.unit_id = u.unit_id CROSS JOIN p WHERE u.username LIKE 'u%';

INSERT INTO evaluation_records (instance_id, subject_id, unit_id, agency_id, period, scheme, status, self_total, total,
                                level, self_evaluation_missed, appealed, published_at, updated_at)
SELECT i.id, i.subject_id, i.unit_id, i.agency_id, i.period, 'hanoi-monthly',
       CASE WHEN i.status = 'completed' THEN 'locked'
            ELSE (ARRAY['self_evaluation','review','decision','published'])[1 + i.subject_id % 4] END,
       CASE WHEN i.step = 'self_evaluation' THEN NULL ELSE 60 + (i.subject_id * 7 + i.id) % 40 END,
       CASE WHEN i.status = 'completed' OR i.subject_id % 4 = 3 THEN 50 + (i.subject_id * 13 + i.id) % 50 END,
       CASE WHEN i.status = 'completed' OR i.subject_id % 4 = 3 THEN
            (ARRAY['A','B','B','B','C','C','D'])[1 + (i.subject_id + i.id) % 7] END,
       false, false,
       CASE WHEN i.status = 'completed' OR i.subject_id % 4 = 3 THEN now() END, now()
FROM process_instances i;

INSERT INTO human_tasks (instance_id, task_uuid, step, title, lane_role, assignee_id, subject_id, unit_id, agency_id,
                         period, status, due_at, created_at, completed_at)
SELECT i.id, md5(i.id::text), CASE WHEN i.status = 'completed' THEN 'decision' ELSE i.step END, 'Việc',
       'direct_manager', coalesce(u.manager_id, u.id), i.subject_id, i.unit_id, i.agency_id, i.period,
       CASE WHEN i.status = 'completed' THEN 'completed' ELSE 'ready' END,
       timestamptz '2030-04-03 17:00+00' + ((i.id % 5) || ' days')::interval, now(),
       CASE WHEN i.status = 'completed' THEN now() END
FROM process_instances i JOIN users u ON u.id = i.subject_id WHERE i.step <> 'waiting' OR i.status = 'completed';
"""


def main() -> None:
    url = URL.replace("postgresql://", "postgresql+psycopg://", 1)
    parsed = make_url(url)
    reuse = "--reuse" in sys.argv  # keep the data of a previous run, only run the cases
    if not reuse:
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    os.environ["INSTANCE_PATH"] = tempfile.mkdtemp(prefix="explain-")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if reuse:
            run_cases(db)
            return
        from flask_migrate import upgrade

        upgrade()
        from app.demo import load_demo

        load_demo()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            for statement in [s for s in FILL.split(";\n") if s.strip()]:
                conn.execute(
                    text(statement),
                    {"agencies": AGENCIES, "divisions": DIVISIONS, "people": PEOPLE, "periods": PERIODS},
                )
            conn.execute(text("ANALYZE"))
        counts = {
            t: db.session.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("units", "users", "process_instances", "evaluation_records", "human_tasks")
        }
        print(f"data: {counts} in {time.perf_counter() - started:.0f} s\n")
        run_cases(db)


def run_cases(db) -> None:
    from app.models import User
    from app.services.reporting import dashboard, filters

    def who(username):
        return db.session.scalars(db.select(User).where(User.username == username)).one()

    hr = who("u1")  # HR officer in AG1's first division → agency AG1 (2,000 people)
    manager = who("u2")  # manages the ~100 people of one division, heads nothing
    admin = who("admin")
    now = datetime(2030, 4, 6, tzinfo=timezone.utc)
    cases = [
        ("admin dashboard, whole city, 2030-03", lambda: dashboard.build(admin, "UBTP", "2030-03", now=now)),
        ("HR dashboard, its agency", lambda: dashboard.build(hr, None, "2030-03", now=now)),
        (
            "admin evaluations, 2030-03, sort name, page 1",
            lambda: filters.run(admin, "evaluations", {"period": "2030-03"}, now),
        ),
        (
            "admin evaluations, all periods, sort -total",
            lambda: filters.run(admin, "evaluations", {"sort": "-total"}, now),
        ),
        (
            "admin evaluations, 2030-03, level A",
            lambda: filters.run(admin, "evaluations", {"period": "2030-03", "level": "A"}, now),
        ),
        (
            "admin evaluations, name search",
            lambda: filters.run(admin, "evaluations", {"period": "2030-03", "name": "Khánh 1234"}, now),
        ),
        (
            "admin tasks, ready, overdue, sort due",
            lambda: filters.run(admin, "tasks", {"status": "ready", "overdue": "1"}, now),
        ),
        ("HR evaluations, its agency, 2030-03", lambda: filters.run(hr, "evaluations", {"period": "2030-03"}, now)),
        ("HR evaluations, overdue", lambda: filters.run(hr, "evaluations", {"period": "2030-03", "overdue": "1"}, now)),
        ("HR tasks, assignee", lambda: filters.run(hr, "tasks", {"assignee": manager.username}, now)),
        ("manager evaluations (their people)", lambda: filters.run(manager, "evaluations", {}, now)),
    ]

    # a deep page: follow the cursor 200 pages into the month
    def deep():
        page = filters.run(admin, "evaluations", {"period": "2030-03", "limit": "200"}, now)
        for _ in range(199):
            page = filters.run(
                admin, "evaluations", {"period": "2030-03", "limit": "200", "cursor": page.next_cursor}, now
            )
        return page

    statements: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    for name, call in cases + [("admin evaluations, page 200 by keyset (200 calls)", deep)]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        started = time.perf_counter()
        call()
        elapsed = (time.perf_counter() - started) * 1000
        event.remove(db.engine, "before_cursor_execute", capture)
        print(f"=== {name}: {elapsed:.0f} ms, {len(statements)} queries")
        if name.startswith("admin evaluations, page 200"):
            statements[:] = statements[-2:]
        for statement, params in statements:
            if "FROM users" in statement and "WHERE users.id =" in statement:
                continue  # the viewer's own row
            raw = db.session.connection().connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = [r[0] for r in cur.fetchall()]
            shown = plan[:28] + ([line for line in plan[28:] if "Execution Time" in line] if len(plan) > 28 else [])
            print("\n".join("    " + line for line in shown))
            print()
        db.session.rollback()


if __name__ == "__main__":
    main()
