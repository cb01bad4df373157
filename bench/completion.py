"""`python -m bench.completion`: what one task completion costs the app, beside the SpiffWorkflow floor
measured in the same run (issue #13).

A small synthetic city on PostgreSQL (`--db`, dropped and created again), its month opened, then:

1. in process, one core: `--n` self-evaluations completed through the JSON API (the Flask test client,
   the whole request: token, unit of work, projection, audit, commit); the process CPU per completion
   (PostgreSQL's own CPU is not in it), the SQL statements per completion, and the same for the
   HTML form (`POST /tasks/<id>`, parse + validate + complete);
2. the raw floor on the same process and data: deserialize + complete + engine steps + serialize,
   with the library's serializer and with the app's spec-less one, in process CPU time like the app's
   figure, run in blocks alternating with the app's JSON completions (`--blocks`) so that both see the
   same load; the ratio app / floor;
3. with `--http`: gunicorn with `--workers` workers, first `--clients` closed-loop clients (each sends
   its next completion as soon as the last is answered: the rate is whatever the server sustains),
   then an open loop where completions arrive at random at `--rate` a second (the city's peak, see
   the README); the p95 latency of each beside the 100 ms target, and the CPU a completion costs the
   app server, PostgreSQL and the clients.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.__main__ import pct, recreate, say

FORM = {
    "scores": {"I.1": 5, "I.2": 5, "I.3": 5, "I.4": 5, "II.1": 25, "II.2": 20, "II.3": 20},
    "bonus": 0,
    "comment": "Hoàn thành tốt công việc được giao",
}  # 85 points, staff scheme
HTML_FORM = {
    "scores[I.1]": "5",
    "scores[I.2]": "5",
    "scores[I.3]": "5",
    "scores[I.4]": "5",
    "scores[II.1]": "25",
    "scores[II.2]": "20",
    "scores[II.3]": "20",
    "bonus": "0",
    "comment": "Hoàn thành tốt",
}


class Statements:
    """Counts the SQL statements the app's engine sends (and keeps their text while `shown` is a list)."""

    def __init__(self, engine):
        self.n = 0
        self.shown: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args, **kwargs):
        self.n += 1
        if self.shown is not None:
            self.shown.append(" ".join(statement.split())[:160])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.completion", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/danhgia_bench_completion")
    ap.add_argument("--people", type=int, default=3_000)
    ap.add_argument("--units", type=int, default=60)
    ap.add_argument("--period", default="2030-03")
    ap.add_argument("--n", type=int, default=400, help="completions timed in process (JSON), and half as many HTML")
    ap.add_argument("--floor-n", type=int, default=400)
    ap.add_argument(
        "--blocks", type=int, default=10, help="JSON completions and floor iterations alternate in this many blocks"
    )
    ap.add_argument("--http", action="store_true", help="also time completions under gunicorn")
    ap.add_argument("--profile", type=int, default=0, help="print the N costliest functions of the JSON completions")
    ap.add_argument(
        "--pyinstrument",
        action="store_true",
        help="print a sampled call tree of the JSON completions (needs pyinstrument installed)",
    )
    ap.add_argument("--show-sql", action="store_true", help="print the statements of one JSON and one HTML completion")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--completions", type=int, default=1_000, help="closed-loop completions under gunicorn")
    ap.add_argument("--rate", type=float, default=40.0, help="open loop: completions arriving a second")
    ap.add_argument("--open-completions", type=int, default=600, help="open-loop completions under gunicorn")
    args = ap.parse_args(argv)

    url = args.db.replace("postgresql://", "postgresql+psycopg://", 1)
    recreate(url)
    instance_path = tempfile.mkdtemp(prefix="danhgia-bench-")
    os.environ["INSTANCE_PATH"] = instance_path
    # the month starts at self-evaluation (no work-plan phase), here and in the gunicorn workers
    os.environ["WORK_PLAN_PHASE"] = "0"
    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "WTF_CSRF_ENABLED": False})
    out: dict = {}
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from app.engine import helpers, specs
        from app.models import HumanTask, User
        from app.services.evaluation import cycles, instances
        from app.services.process_design import versions
        from app.services.regulation import schemes

        transaction = _transaction()

        from . import city, floor
        from . import http as httpbench

        say(f"city: {args.people} people in {args.units} units; opening {args.period}")
        city.build(db.engine, args.people, args.units)
        with transaction.committed():
            version = versions.sync_from_disk()
        with transaction.committed():
            cycles.open_month("HN", args.period, include_subunits=True)
        loaded = specs.load(version)
        sample = db.session.scalars(select(User).where(User.position_group == "staff").limit(1)).one()
        scheme = schemes.for_unit(sample.unit, args.period)
        calendar = helpers.calendar()
        with helpers.pinned_calendar(calendar):
            seed = instances.seed_data(sample, args.period, scheme)
        rows = db.session.execute(
            select(HumanTask.id, HumanTask.assignee_id)
            .join(User, User.id == HumanTask.subject_id)
            .where(HumanTask.status == "ready", HumanTask.step == "self_evaluation", User.position_group == "staff")
            .order_by(HumanTask.unit_id, HumanTask.id)
            .limit(args.n * 2 + args.completions + args.open_completions + 200)
        ).all()
        transaction.discard()
        tokens = httpbench.tokens_for(db.engine, [uid for _, uid in rows])

    statements = Statements(_engine(app))
    client = app.test_client()

    def json_completion(task_id: int, uid: int) -> int:
        resp = client.post(
            f"/api/v1/tasks/{task_id}/complete", json={"data": FORM}, headers={"Authorization": f"Bearer {tokens[uid]}"}
        )
        return resp.status_code

    jobs = list(rows)
    warm, timed, html_jobs = jobs[:20], jobs[20 : 20 + args.n], jobs[20 + args.n : 20 + args.n + args.n // 2]
    for task_id, uid in warm:
        json_completion(task_id, uid)
    if args.show_sql:
        statements.shown = []
        json_completion(*timed.pop())
        print("\n".join(f"  {i + 1:2}. {text}" for i, text in enumerate(statements.shown)), file=sys.stderr)
        statements.shown = None
    say(f"in process: {len(timed)} JSON completions, alternating with the floor in {args.blocks} blocks")
    statements.n = 0
    profiler = sampler = None
    if args.pyinstrument:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0005)
        sampler.start()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    # the app's completions and the floor alternate in blocks, so that both see the same load from
    # the machine's other jobs (measured one after the other, a load spike lands on one of them only)
    blocks = max(1, min(args.blocks, len(timed)))
    size = -(-len(timed) // blocks)
    floor_each = max(1, args.floor_n // blocks)
    cpu = wall = lib_s = specless_s = 0.0
    statuses = []
    ratios: list[float] = []
    floor_n = 0
    for b in range(blocks):
        part = timed[b * size : (b + 1) * size]
        if not part:
            break
        block_floor = 0.0
        if profiler is None and sampler is None:
            with app.app_context():
                block_floor = floor_each / floor.completion_rate(
                    loaded, seed, FORM, calendar, floor_each, clock=time.process_time
                )
                lib_s += block_floor
                specless_s += floor_each / floor.completion_rate(
                    loaded, seed, FORM, calendar, floor_each, spec_less=True, clock=time.process_time
                )
            floor_n += floor_each
        cpu0, wall0 = time.process_time(), time.perf_counter()
        statuses += [json_completion(task_id, uid) for task_id, uid in part]
        block_cpu = time.process_time() - cpu0
        cpu, wall = cpu + block_cpu, wall + time.perf_counter() - wall0
        if block_floor:  # each block's own ratio: a spike of the machine's other jobs stays in its block
            ratios.append((block_cpu / len(part)) / (block_floor / floor_each))
    if sampler is not None:
        sampler.stop()
        print(sampler.output_text(unicode=True, show_all=False), file=sys.stderr)
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(args.profile)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile)
    out["json"] = {
        "ratios": sorted(ratios),
        "cpu_ms": 1000 * cpu / len(timed),
        "wall_ms": 1000 * wall / len(timed),
        "statements": statements.n / len(timed),
        "ok": statuses.count(200),
        "n": len(timed),
    }

    say(f"in process: {len(html_jobs)} HTML form completions (signed in by session)")
    html_cpu, html_statements, html_ok = 0.0, 0, 0
    for task_id, uid in html_jobs:
        browser = app.test_client()
        with browser.session_transaction() as sess:
            sess["_user_id"] = _session_id(app, uid)
            sess["_fresh"] = True
        statements.n = 0
        if args.show_sql and task_id == html_jobs[0][0]:
            statements.shown = []
        c0 = time.process_time()
        resp = browser.post(f"/tasks/{task_id}", data=HTML_FORM)
        if statements.shown is not None:
            print("\n".join(f"  {i + 1:2}. {text}" for i, text in enumerate(statements.shown)), file=sys.stderr)
            statements.shown = None
        html_cpu += time.process_time() - c0
        html_statements += statements.n
        html_ok += resp.status_code == 302
    out["html"] = {
        "cpu_ms": 1000 * html_cpu / max(len(html_jobs), 1),
        "statements": html_statements / max(len(html_jobs), 1),
        "ok": html_ok,
        "n": len(html_jobs),
    }

    if not floor_n:  # profiled: the floor apart, after the app
        with app.app_context():
            say(f"floor: load + complete + save, {args.floor_n} iterations each")
            floor_n = args.floor_n
            lib_s = floor_n / floor.completion_rate(loaded, seed, FORM, calendar, floor_n, clock=time.process_time)
            specless_s = floor_n / floor.completion_rate(
                loaded, seed, FORM, calendar, floor_n, spec_less=True, clock=time.process_time
            )
    out["floor"] = {"library_ms": 1000 * lib_s / floor_n, "specless_ms": 1000 * specless_s / floor_n}

    if args.http:
        rest = jobs[20 + args.n + args.n // 2 :]
        http_jobs = [(tokens[uid], tid, FORM) for tid, uid in rest]
        warm, closed = http_jobs[:100], http_jobs[100 : 100 + args.completions]
        opened = http_jobs[100 + args.completions : 100 + args.completions + args.open_completions]
        server = httpbench.Gunicorn(args.db, instance_path, args.workers)
        try:
            say(f"gunicorn × {args.workers}, {args.clients} clients, {len(closed)} completions (+100 warm-up)")
            httpbench.complete_all(server.port, warm, args.clients)
            out["http"] = httpbench.complete_all(server.port, closed, args.clients, server.proc.pid)
            if opened:
                say(f"gunicorn × {args.workers}, {len(opened)} completions arriving at {args.rate:g}/s")
                out["open"] = httpbench.complete_at_rate(server.port, opened, args.rate, server.proc.pid)
        finally:
            server.stop()
    report(out)
    return 0


def _transaction():
    """app.services.transaction, or for a checkout from before it existed (to measure the same bench
    on the old code) a stand-in that commits."""
    try:
        from app.services import transaction

        return transaction
    except ImportError:
        from contextlib import contextmanager

        from app.extensions import db

        class Old:
            @staticmethod
            @contextmanager
            def committed():
                yield
                db.session.commit()

            @staticmethod
            def discard():
                db.session.rollback()

        return Old


def _engine(app):
    from app.extensions import db

    with app.app_context():
        return db.engine


def _session_id(app, uid: int) -> str:
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = db.session.get(User, uid)
        return f"{user.id}:{user.session_version}"


def report(out: dict) -> None:
    j, h, f = out["json"], out["html"], out["floor"]
    lines = [
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| app CPU per completion, JSON API, in process (one core) | **{j['cpu_ms']:.1f} ms** "
        f"({j['ok']}/{j['n']} answered 200) | |",
        f"| raw floor: load + complete + save, library serializer / spec-less | {f['library_ms']:.1f} / "
        f"{f['specless_ms']:.1f} ms | |",
        f"| app / library floor | **{j['cpu_ms'] / f['library_ms']:.2f}×** | ≤ 2× |",
        *(
            [
                f"| app / library floor, per block (median, min–max of {len(j['ratios'])}) | "
                f"{statistics.median(j['ratios']):.2f}× ({j['ratios'][0]:.2f}–{j['ratios'][-1]:.2f}) | |"
            ]
            if j["ratios"]
            else []
        ),
        f"| app / spec-less floor | {j['cpu_ms'] / f['specless_ms']:.2f}× | |",
        f"| SQL statements per completion, JSON | {j['statements']:.1f} | |",
        f"| app CPU per completion, HTML form (parse + complete + redirect) | {h['cpu_ms']:.1f} ms "
        f"({h['ok']}/{h['n']} redirected), {h['statements']:.1f} statements | |",
    ]
    if "http" in out:
        r = out["http"]
        lines.append(
            f"| HTTP completions, gunicorn, closed loop: rate, p50 / p95 | {r['rate']:.0f}/s, "
            f"{pct(r['latencies'], 50):.0f} / **{pct(r['latencies'], 95):.0f} ms** "
            f"(answers {r['statuses']}) | p95 ≤ 100 ms |"
        )
        if r.get("cpu_ms"):
            c = r["cpu_ms"]
            lines.append(
                f"| CPU per completion under gunicorn: app server / PostgreSQL / clients | {c['app']:.1f} / "
                f"{c['db']:.1f} / {c['clients']:.1f} ms (2 cores: at most "
                f"{2000 / max(sum(c.values()), 0.001):.0f}/s) | |"
            )
    if "open" in out:
        r = out["open"]
        lines.append(
            f"| HTTP completions, gunicorn, open loop at {r['offered']:g}/s: p50 / p95 / max | "
            f"{pct(r['latencies'], 50):.0f} / **{pct(r['latencies'], 95):.0f}** / {max(r['latencies']):.0f} ms "
            f"(answers {r['statuses']}) | p95 ≤ 100 ms |"
        )
    print("\n".join(lines))
    print(
        f"\n(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; other jobs on the machine inflate "
        "every figure, the floor included)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
