"""`make bench` / `python -m bench`: a synthetic city on PostgreSQL, then a table of measurements.

0. the organisation import (bench/orgfile.py): the city file through `flask import-org`'s code into its own
   database (`--import-db`), then again unchanged;
1. city: `--people` in `--units` (bench/city.py), the published process;
2. month opening of the whole city through `cycles.open_month` (what `flask open-month` runs), with the
   raw SpiffWorkflow floor for the same process measured in the same run, before and after;
3. stored bytes per instance;
4. synthetic history up to `--tasks` human tasks (bench/history.py, COPY);
5. task completion through the HTTP API under gunicorn with `--clients` concurrent clients, beside the
   raw floor for load + complete + save;
6. inbox (`tasks.inbox`) and dashboard (`dashboard.build`) latency, in process, p50/p95; the city-wide
   dashboard's 12-month trend from the monthly summary (migration 0011) beside today's query over the
   records, and the time the worker takes to fold the history's summary deltas.

`--dashboard-only` builds the city, `--dashboard-months` - 1 finished months and the month measured (every
self-evaluation ready and overdue) with COPY, and measures only the dashboards: minutes, not hours.
`--reuse` measures the dashboards again on a database such a run left (nothing dropped, nothing built).

The database (`--db`, default danhgia_bench) is dropped and created again: never point it at real data.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--units", type=int, default=3_000)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/danhgia_bench")
    ap.add_argument("--period", default="2031-01", help="the month opened (its deadlines lie ahead)")
    ap.add_argument("--tasks", type=int, default=1_000_000, help="human tasks stored for the latency part")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="gunicorn workers (default: one per core, which did best here: the work is CPU-bound)",
    )
    ap.add_argument("--completions", type=int, default=3_000)
    ap.add_argument(
        "--few-clients",
        type=int,
        default=4,
        help="a second, lighter run: the latency of one completion when the server is not saturated",
    )
    ap.add_argument("--few-completions", type=int, default=600)
    ap.add_argument("--floor-n", type=int, default=2_000, help="iterations of each floor measurement")
    ap.add_argument("--samples", type=int, default=400, help="inbox users / dashboard calls timed")
    ap.add_argument(
        "--import-db",
        default="postgresql://postgres@127.0.0.1:5432/danhgia_bench_import",
        help="database of the organisation import step (dropped and created again)",
    )
    ap.add_argument("--skip-import", action="store_true", help="leave out the organisation import step")
    ap.add_argument(
        "--dashboard-only",
        action="store_true",
        help="only the city and a year of finished months, then the dashboard measurements",
    )
    ap.add_argument("--dashboard-months", type=int, default=12, help="months written with --dashboard-only")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="measure the city dashboard again on the database a --dashboard-only run left in --db "
        "(not dropped, nothing built)",
    )
    args = ap.parse_args(argv)
    if args.dashboard_only or args.reuse:
        args.skip_import = True

    url = args.db.replace("postgresql://", "postgresql+psycopg://", 1)
    instance_path = tempfile.mkdtemp(prefix="danhgia-bench-")
    os.environ["INSTANCE_PATH"] = instance_path
    load_before = os.getloadavg()[0]
    org_import = None
    if not args.skip_import:
        from . import orgfile

        org_import = orgfile.measure(
            args.import_db.replace("postgresql://", "postgresql+psycopg://", 1), args.people, args.units, say
        )
    if args.reuse:
        return dashboard_again(args, url, load_before)
    say(f"database {make_url(url).database}: dropping and creating it")
    recreate(url)

    from app import create_app
    from app.extensions import db

    # the month's self-evaluations are what the bench completes: no work plan before them
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key", "WORK_PLAN_PHASE": False})
    results: dict = {"org_import": org_import}
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from app.engine import helpers, specs
        from app.models import HumanTask, ProcessInstance, Scheme, Unit, User
        from app.services.evaluation import cycles, instances
        from app.services.process_design import versions
        from app.services.regulation import schemes

        from . import city, floor, history
        from . import http as httpbench

        say(f"city: {args.people} people in {args.units} units")
        shape = city.build(db.engine, args.people, args.units)
        version = versions.sync_from_disk()
        loaded = specs.load(version)
        sample = db.session.scalars(select(User).where(User.position_group == "staff").limit(1)).one()
        scheme = schemes.for_unit(sample.unit, args.period)
        db.session.commit()
        calendar = helpers.calendar()
        with helpers.pinned_calendar(calendar):
            seed = instances.seed_data(sample, args.period, scheme)

        def floors(tag):
            say(f"raw floor ({tag}): start + serialize, {args.floor_n} iterations each")
            return (
                floor.start_rate(loaded, seed, calendar, args.floor_n),
                floor.start_rate(loaded, seed, calendar, args.floor_n, spec_less=True),
            )

        if args.dashboard_only:
            return dashboard_only(args, db, shape, version, scheme, load_before)

        before = floors("before the opening")
        say(f"opening {args.period} for the whole city ({shape['people']} people)")
        began, cpu = time.perf_counter(), time.process_time()
        last = [0.0]

        def progress(p):
            if time.perf_counter() - last[0] > 30 or p.finished:
                last[0] = time.perf_counter()
                say(f"  {p.done}/{p.total} started={p.started} ({p.started / (last[0] - began):.0f}/s)")

        opened = cycles.open_month("HN", args.period, include_subunits=True, on_chunk=progress)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        after = floors("after the opening")
        again_began = time.perf_counter()
        again = cycles.open_month("HN", args.period, include_subunits=True)
        again_wall = time.perf_counter() - again_began
        floor_lib, floor_specless = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
        say(
            f"opening: {opened['started']} in {wall:.0f} s = {opened['started'] / wall:.0f}/s; floors (library/spec-less) "
            f"{before} before, {after} after; again: {again['skipped']} skipped in {again_wall:.0f} s"
        )
        results["opening"] = {
            "started": opened["started"],
            "wall": wall,
            "rate": opened["started"] / wall,
            "cpu_ms": 1000 * cpu / max(opened["started"], 1),
            "floor": floor_lib,
            "floor_specless": floor_specless,
            "floors": (before, after),
            "again": again,
            "again_wall": again_wall,
        }

        say("stored bytes")
        count = db.session.scalar(select(func.count()).select_from(ProcessInstance))
        raw, stored = db.session.execute(
            text("SELECT avg(octet_length(snapshot)), avg(pg_column_size(snapshot)) FROM process_instances")
        ).one()
        tables = ("process_instances", "evaluation_records", "human_tasks", "audit_events", "notifications")
        total = sum(db.session.scalar(text(f"SELECT pg_total_relation_size('{t}')")) for t in tables)
        results["bytes"] = {
            "instances": count,
            "snapshot_raw": float(raw),
            "snapshot_stored": float(stored),
            "all": total / count,
        }

        current = db.session.scalar(select(func.count()).select_from(HumanTask))
        months = history.months_needed(shape["people"], current, args.tasks)
        say(f"history: {months} earlier month(s) with COPY to reach {args.tasks} human tasks")
        scheme_id = db.session.scalar(select(Scheme.id).where(Scheme.code == scheme.code).limit(1))
        history.build(db.engine, args.period, months, version.id, scheme_id)
        results["fold"] = fold_summary(db)
        results["tasks_stored"] = db.session.scalar(select(func.count()).select_from(HumanTask))
        results["ready_tasks"] = db.session.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.status == "ready")
        )

        # --- completion through the API -----------------------------------------------------------
        form = {
            "scores": {"I.1": 5, "I.2": 5, "I.3": 5, "I.4": 5, "II.1": 25, "II.2": 20, "II.3": 20},
            "bonus": 0,
            "comment": "Hoàn thành tốt công việc được giao",
        }  # 85 points, staff scheme
        say(f"raw floor: load + complete + save, {args.floor_n} iterations each")
        completion_floor = (
            floor.completion_rate(loaded, seed, form, calendar, args.floor_n),
            floor.completion_rate(loaded, seed, form, calendar, args.floor_n, spec_less=True),
        )
        rows = db.session.execute(
            select(HumanTask.id, HumanTask.assignee_id)
            .join(User, User.id == HumanTask.subject_id)
            .where(
                HumanTask.period == args.period,
                HumanTask.status == "ready",
                HumanTask.step == "self_evaluation",
                User.position_group == "staff",
            )
            .order_by(HumanTask.unit_id, HumanTask.id)  # whole divisions, as on day 3:
            .limit(args.completions + args.few_completions + 100)
        ).all()  # heads get ~60 each
        db.session.commit()
        tokens = httpbench.tokens_for(db.engine, [uid for _, uid in rows])
        jobs = [(tokens[uid], tid, form) for tid, uid in rows]
        say(
            f"gunicorn with {args.workers} workers; {args.completions} completions by {args.clients} clients "
            f"(+100 warm-up), then {len(jobs) - 100 - args.completions} by {args.few_clients}"
        )
        server = httpbench.Gunicorn(url, instance_path, args.workers)
        try:
            httpbench.complete_all(server.port, jobs[:100], args.clients)
            run = httpbench.complete_all(server.port, jobs[100 : 100 + args.completions], args.clients, server.proc.pid)
            few = httpbench.complete_all(server.port, jobs[100 + args.completions :], args.few_clients)
        finally:
            server.stop()
        results["completion"] = dict(run, floor=completion_floor, few=few)
        say(
            f"completion: {run['rate']:.0f}/s p50 {pct(run['latencies'], 50):.0f} ms p95 {pct(run['latencies'], 95):.0f} ms "
            f"{run['statuses']}; floors {completion_floor}"
        )

        # --- latency --------------------------------------------------------------------------------
        from app.services.evaluation import tasks
        from app.services.reporting import dashboard

        rnd = random.Random(5)
        say("inbox latency")
        holders = [
            uid
            for (uid,) in db.session.execute(
                select(HumanTask.assignee_id)
                .where(HumanTask.status == "ready", HumanTask.assignee_id.is_not(None))
                .group_by(HumanTask.assignee_id)
            ).all()
        ]
        managers = [
            uid
            for (uid,) in db.session.execute(
                select(HumanTask.assignee_id)
                .where(HumanTask.status == "ready", HumanTask.step != "self_evaluation")
                .group_by(HumanTask.assignee_id)
            ).all()
        ]
        picked = rnd.sample(holders, min(args.samples, len(holders))) + rnd.sample(managers, min(100, len(managers)))
        inbox_ms, inbox_rows = [], []
        for round_ in range(2):
            for uid in picked:
                db.session.remove()
                viewer = db.session.get(User, uid)
                t = time.perf_counter()
                found = tasks.inbox(viewer)
                if round_:
                    inbox_ms.append(1000 * (time.perf_counter() - t))
                    inbox_rows.append(len(found))
        say("dashboard latency")
        now = datetime(2031, 2, 6, 3, 0, tzinfo=timezone.utc)  # after the self-evaluation deadline
        agencies = db.session.execute(
            select(Unit.id, Unit.code).where(Unit.is_agency.is_(True), Unit.parent_id.is_not(None))
        ).all()
        hr = {}
        for unit_id, code in agencies:
            officer = db.session.scalar(
                select(User.id)
                .join(Unit, Unit.id == User.unit_id)
                .where(Unit.parent_id == unit_id, User.roles.contains("hr_officer"))
                .limit(1)
            )
            if officer:
                hr[code] = officer
        chosen = rnd.sample(sorted(hr), min(50, len(hr)))
        dash_ms = []
        for round_ in range(4):
            for code in chosen:
                db.session.remove()
                viewer = db.session.get(User, hr[code])
                t = time.perf_counter()
                dashboard.build(viewer, code, args.period, now)
                if round_:
                    dash_ms.append(1000 * (time.perf_counter() - t))
        agg_ms = []
        for code in chosen * 3:
            t = time.perf_counter()
            db.session.execute(
                text(
                    "SELECT t.step, count(*), count(*) FILTER (WHERE t.due_at < :now) FROM human_tasks t "
                    "JOIN units u ON u.id = t.unit_id WHERE t.period = :p AND t.status = 'ready' "
                    "AND t.agency_id = (SELECT id FROM units WHERE code = :c) GROUP BY t.step"
                ),
                {"now": now, "p": args.period, "c": code},
            ).all()
            agg_ms.append(1000 * (time.perf_counter() - t))
        city = city_dashboard(db, args.period, now)
        results["latency"] = {
            "inbox": inbox_ms,
            "inbox_rows": inbox_rows,
            "dashboard": dash_ms,
            "agg": agg_ms,
            "city": city["build"],
            "city_trend": city,
            "agency_people": shape["people"] / shape["agencies"],
        }

    report(args, shape, results, load_before)
    return 0


def fold_summary(db) -> dict:
    """What the worker does after the history's COPY: fold its summary deltas (one per record)."""
    from app.models import RecordSummaryDelta
    from app.services.reporting import summary

    waiting = db.session.scalar(select(func.count()).select_from(RecordSummaryDelta))
    say(f"folding {waiting:,} summary deltas")
    from app.services.transaction import committed

    began = time.perf_counter()
    with committed():  # as the worker: the fold is kept (the measurements below start new sessions)
        summary.fold()
    seconds = time.perf_counter() - began
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("record_summary_delta", "record_summary", "record_unit_summary"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))  # what autovacuum does soon after
    return {"deltas": waiting, "seconds": seconds}


def city_dashboard(db, period: str, now, runs: int = 5) -> dict:
    """The city-wide dashboard (the root unit, seen by the administrator): the whole build, and its
    12-month trend both ways: from the monthly summary (what build() uses) and today's query over the
    records (what build() did before, and still does for one agency)."""
    from sqlalchemy import true

    from app.models import User
    from app.services.reporting import dashboard, summary

    say("city dashboard latency: build(), trend from the summary, trend from the records")
    periods = dashboard.last_periods(period)
    out = {"build": [], "summary": [], "records": [], "records_rows": 0}
    from app.services.transaction import committed

    t = time.perf_counter()
    with committed():  # what the worker does (and keeps) every poll
        dashboard.refresh_city_overdue(now)
    out["refresh_ms"] = 1000 * (time.perf_counter() - t)
    try:
        for round_ in range(runs + 1):
            db.session.remove()
            viewer = db.session.get(User, 1)
            t = time.perf_counter()
            dashboard.build(viewer, "HN", period, now)
            built = 1000 * (time.perf_counter() - t)
            t = time.perf_counter()
            summary.trend_rows(periods, dashboard.ENDED)
            from_summary = 1000 * (time.perf_counter() - t)
            t = time.perf_counter()
            out["records_rows"] = len(dashboard.trend_from_records(periods, true()))
            from_records = 1000 * (time.perf_counter() - t)
            if round_:  # the first round warms the caches
                out["build"].append(built)
                out["summary"].append(from_summary)
                out["records"].append(from_records)
        records = db.session.scalar(
            text("SELECT count(*) FROM evaluation_records WHERE period = ANY(:p)"), {"p": periods}
        )
        out["records_in_window"] = records
    except Exception as exc:
        db.session.rollback()
        out["build"] = [f"fails: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}"]
    return out


def city_lines(city: dict, fold: dict | None) -> list[str]:
    lines = []
    add = lines.append
    build = city["build"]
    if build and isinstance(build[0], str):
        add(f"{'  dashboard.build() for the whole city':<58} {build[0]}")
        return lines
    add(
        f"{'  dashboard.build() for the whole city, median / max ms':<58} "
        f"{statistics.median(build):>8.0f} / {max(build):>6.0f} {'<= 200':>14}"
    )
    add(
        f"{'    12-month trend, today query over {0:,} records (ms)'.format(city.get('records_in_window', 0)):<58} "
        f"{statistics.median(city['records']):>18.0f}"
    )
    add(f"{'    12-month trend from the monthly summary (ms)':<58} {statistics.median(city['summary']):>18.1f}")
    add(f"{'    the worker counting the open months overdue tasks (ms)':<58} {city['refresh_ms']:>18.0f}")
    if fold:
        add(
            f"{'    summary: folding {0:,} deltas after the COPY (s)'.format(fold['deltas']):<58} "
            f"{fold['seconds']:>18.1f}"
        )
    return lines


def dashboard_again(args, url: str, load_before: float) -> int:
    """--reuse: the city dashboard measured on a database a --dashboard-only run built (folding whatever
    deltas are still waiting first, as the worker would have)."""
    from datetime import date

    from app import create_app
    from app.extensions import db
    from app.models import RecordSummaryDelta, Unit, User
    from app.rules.workdays import month_after

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key", "WORK_PLAN_PHASE": False})
    with app.app_context():
        people = db.session.scalar(select(func.count()).select_from(User))
        units = db.session.scalar(select(func.count()).select_from(Unit))
        if not people:
            print(f"--reuse: {make_url(url).database} holds no city; run --dashboard-only first", file=sys.stderr)
            return 2
        waiting = db.session.scalar(select(func.count()).select_from(RecordSummaryDelta))
        db.session.rollback()
        fold = fold_summary(db) if waiting else None
        after = month_after(args.period)
        now = datetime.combine(date(after.year, after.month, 6), datetime.min.time(), timezone.utc)
        city = city_dashboard(db, args.period, now)
        print(
            f"\nDashboards again (--reuse): {people:,} users in {units:,} units; PostgreSQL; {os.cpu_count()} CPU "
            f"cores; load average before {load_before:.2f}, now {os.getloadavg()[0]:.2f}\n"
        )
        print(f"{'measure':<58} {'result':>18} {'target':>14}")
        print("-" * 92)
        print("\n".join(city_lines(city, fold)), flush=True)
    return 0


def dashboard_only(args, db, shape, version, scheme, load_before) -> int:
    from datetime import date

    from app.models import Scheme
    from app.rules.workdays import month_after

    from . import history

    after = month_after(args.period)
    scheme_id = db.session.scalar(select(Scheme.id).where(Scheme.code == scheme.code).limit(1))
    db.session.commit()
    say(
        f"history: {args.dashboard_months - 1} finished months before {args.period}, and {args.period} open "
        "after its self-evaluation deadline, with COPY"
    )
    history.build(db.engine, args.period, args.dashboard_months - 1, version.id, scheme_id, with_tasks=False)
    history.open_month(db.engine, args.period, version.id, scheme_id)
    fold = fold_summary(db)
    now = datetime.combine(date(after.year, after.month, 6), datetime.min.time(), timezone.utc)
    city = city_dashboard(db, args.period, now)
    print(
        f"\nDashboards only: {shape['people']:,} people in {shape['units']:,} units, {args.dashboard_months - 1} "
        f"finished months and the open one; PostgreSQL; {os.cpu_count()} CPU cores; load average before {load_before:.2f}, "
        f"now {os.getloadavg()[0]:.2f}\n"
    )
    print(f"{'measure':<58} {'result':>18} {'target':>14}")
    print("-" * 92)
    print("\n".join(city_lines(city, fold)), flush=True)
    return 0


def report(args, shape, r, load_before) -> None:
    o, b, c, lat = r["opening"], r["bytes"], r["completion"], r["latency"]
    lines = []
    add = lines.append
    add("")
    add(
        f"Benchmark: {shape['people']:,} people in {shape['units']:,} units ({shape['agencies']} agencies); "
        f"PostgreSQL; {os.cpu_count()} CPU cores; load average before the run {load_before:.2f}"
    )
    add("")
    add(f"{'measure':<58} {'result':>18} {'target':>14}")
    add("-" * 92)
    ratio = o["rate"] / o["floor"]
    add(f"{'month opening, whole city (instances/s)':<58} {o['rate']:>18.0f}")
    add(f"{'  raw floor: start + serialize, library serializer (/s)':<58} {o['floor']:>18.0f}")
    add(f"{'  opening / raw floor':<58} {ratio:>17.0%} {'>= 70%':>14}")
    add(
        f"{'  (engine + spec-less serializer alone (/s), and ratio)':<58} "
        f"{o['floor_specless']:>11.0f} {o['rate'] / o['floor_specless']:>5.0%}"
    )
    add(
        f"{'  opened / wall time / app CPU per instance':<58} "
        f"{o['started']:>7,} {o['wall']:>5.0f} s {o['cpu_ms']:>4.2f} ms"
    )
    add(
        f"{'  opening again (idempotent): started / skipped / seconds':<58} "
        f"{o['again']['started']:>5} {o['again']['skipped']:>7,} {o['again_wall']:>4.0f}"
    )
    add(
        f"{'stored bytes per instance: snapshot (raw / stored)':<58} "
        f"{b['snapshot_raw']:>8.0f} / {b['snapshot_stored']:>6.0f}"
    )
    add(f"{'  all its rows incl. indexes (instance, record, task, audit, note)':<58} {b['all']:>18.0f}")
    add(f"{'human tasks stored (ready)':<58} {r['tasks_stored']:>9,} ({r['ready_tasks']:,})")
    li, ld = lat["inbox"], lat["dashboard"]
    add(
        f"{'inbox tasks.inbox(): p50 / p95 ms (n={0}, rows max {1})'.format(len(li), max(lat['inbox_rows'])):<58} "
        f"{pct(li, 50):>8.1f} / {pct(li, 95):>6.1f} {'p95 <= 20':>14}"
    )
    add(
        f"{'dashboard.build(), one agency: p50 / p95 ms (n={0})'.format(len(ld)):<58} "
        f"{pct(ld, 50):>8.1f} / {pct(ld, 95):>6.1f} {'p95 <= 100':>14}"
    )
    add(
        f"{'  (~{0:.0f} people per agency; per-step aggregate SQL p50/p95)'.format(lat['agency_people']):<58} "
        f"{pct(lat['agg'], 50):>8.1f} / {pct(lat['agg'], 95):>6.1f}"
    )
    lines += city_lines(lat["city_trend"], r.get("fold"))
    if r.get("org_import"):
        from .orgfile import report_lines

        lines += report_lines(r["org_import"])
    lc = c["latencies"]
    add(
        f"{'completion via HTTP, {0} clients, gunicorn x{1} (/s)'.format(args.clients, args.workers):<58} "
        f"{c['rate']:>18.0f}"
    )
    add(
        f"{'  p50 / p95 ms (n={0}, statuses {1})'.format(len(lc), c['statuses']):<58} "
        f"{pct(lc, 50):>8.0f} / {pct(lc, 95):>6.0f} {'p95 <= 100':>14}"
    )
    add(f"{'  raw floor: load + complete + save, library serializer (/s)':<58} {c['floor'][0]:>18.0f}")
    add(f"{'  (same with the spec-less serializer (/s))':<58} {c['floor'][1]:>18.0f}")
    add(f"{'  HTTP completions / raw floor (one core)':<58} {c['rate'] / c['floor'][0]:>17.0%}")
    lf = c["few"]["latencies"]
    add(
        f"{'  with {0} clients: /s, p50 / p95 ms (n={1})'.format(args.few_clients, len(lf)):<58} "
        f"{c['few']['rate']:>5.0f} {pct(lf, 50):>6.0f} / {pct(lf, 95):>6.0f}"
    )
    if c.get("cpu_ms"):
        cpu = c["cpu_ms"]
        total = sum(cpu.values())
        add(
            f"{'  CPU ms per completion: app / PostgreSQL / clients':<58} "
            f"{cpu['app']:>6.1f} / {cpu['db']:>4.1f} / {cpu['clients']:>4.1f}"
        )
        # Little's law for a closed loop: N clients at the most X completions/s wait N / X on average
        add(
            f"{'  => at most /s on {0} cores; mean latency then, {1} clients'.format(os.cpu_count(), args.clients):<58} "
            f"{1000 * os.cpu_count() / total:>8.0f} / {args.clients * total / os.cpu_count():>4.0f} ms"
        )
    add("")
    add(
        f"floors measured before/after the opening (library, spec-less /s): {o['floors'][0][0]:.0f}/"
        f"{o['floors'][0][1]:.0f} and {o['floors'][1][0]:.0f}/{o['floors'][1][1]:.0f}; load average now "
        f"{os.getloadavg()[0]:.2f}"
    )
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
