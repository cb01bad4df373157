"""Two app servers (gunicorn) and two workers on one PostgreSQL database through a month, as
docs/operations.md describes the grown deployment: every step is sent to BOTH servers at the same moment,
exactly one of them does it and the other says 409; at the end both workers fire the timers at once and
each instance's timer fires once. Nothing done twice, nothing lost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask, ProcessInstance

from .conftest import PASSWORD, PERIOD, later
from .support import review_step, scores_for
from .test_month_api import LEADERS, REVIEW_TOTALS

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("postgresql"),
    reason="several servers and workers share one PostgreSQL database; SQLite is "
    "one file for one host and has no row locks",
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer")


class Cluster:
    def __init__(self, database_url: str):
        self.tmp = tempfile.mkdtemp(prefix="danhgia-cluster-")
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            SECRET_KEY="cluster-test-secret",
            INSTANCE_PATH=self.tmp,
            PYTHONPATH=str(ROOT),
            WORK_PLAN_PHASE="0",
        )  # as the suite: PERIOD lies ahead, the month starts at self-evaluation
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.procs: list[subprocess.Popen] = []
        self.servers: list[str] = []
        self.worker_metrics: list[str] = []

    def _spawn(self, args: list[str], name: str, env: dict | None = None) -> subprocess.Popen:
        log = open(Path(self.tmp) / f"{name}.log", "w")
        proc = subprocess.Popen(args, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start(self) -> "Cluster":
        for i in range(2):
            port = _free_port()
            env = dict(
                self.env,
                BIND=f"127.0.0.1:{port}",
                WEB_CONCURRENCY="1",
                GUNICORN_THREADS="4",
                PROMETHEUS_MULTIPROC_DIR=os.path.join(self.tmp, f"prom-{i}"),
            )
            proc = self._spawn([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"], f"app{i}", env)
            self.servers.append(f"http://127.0.0.1:{port}")
            self.procs[-1] = proc
        for i in range(2):
            port = _free_port()
            self._spawn(
                [str(BIN / "flask"), "--app", "app", "worker", "--interval", "0.5", "--metrics-port", str(port)],
                f"worker{i}",
            )
            self.worker_metrics.append(f"http://127.0.0.1:{port}/metrics")
        for url, proc in zip(self.servers, self.procs[:2]):
            _wait(f"{url}/readyz", proc)
        for url, proc in zip(self.worker_metrics, self.procs[2:]):
            _wait(url, proc)
        return self

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(Path(self.tmp).glob("*.log")))


@pytest.fixture()
def cluster(ctx):
    db.session.remove()
    c = Cluster(ctx.config["SQLALCHEMY_DATABASE_URI"]).start()
    try:
        yield c
    except Exception:
        print(c.logs())
        raise
    finally:
        c.stop()


class Person:
    """One person's API token, good on either server (tokens live in the shared database)."""

    def __init__(self, cluster: Cluster, username: str):
        self.cluster = cluster
        resp = requests.post(
            f"{cluster.servers[len(username) % 2]}/api/v1/auth/token",
            json={"username": username, "password": PASSWORD},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        self.headers = {"Authorization": f"Bearer {resp.json()['token']}"}

    def get(self, path: str, server: int = 0):
        resp = requests.get(f"{self.cluster.servers[server]}/api/v1{path}", headers=self.headers, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def task_for(self, subject: str, step: str) -> dict:
        found = [t for t in self.get("/tasks", server=1) if t["subject"]["username"] == subject and t["step"] == step]
        assert len(found) == 1, found
        return found[0]

    def on_both(self, path: str, body: dict) -> list[requests.Response]:
        """The same POST to both servers at the same moment (a double-click, a retry through another
        server after a timeout)."""
        barrier = threading.Barrier(2)

        def send(server):
            barrier.wait()
            return requests.post(
                f"{self.cluster.servers[server]}/api/v1{path}", headers=self.headers, json=body, timeout=60
            )

        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(send, (0, 1)))


def _one_done(responses, what) -> dict:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], f"{what}: {statuses} {[r.text[:200] for r in responses]}"
    return next(r for r in responses if r.status_code == 200).json()


def test_a_month_on_two_servers_and_two_workers(ctx, cluster):
    hr = Person(cluster, "nva")
    opened = hr.on_both("/cycles", {"unit": "SNV", "period": PERIOD, "include_subunits": True})
    assert all(r.status_code == 200 for r in opened), [r.text for r in opened]
    assert sum(r.json()["started"] for r in opened) == 12  # each person started once
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 12

    everyone = [u for totals in REVIEW_TOTALS.values() for u in totals]
    people = {u: Person(cluster, u) for u in set(everyone) | set(REVIEW_TOTALS)}

    def self_evaluate(username):
        task = people[username].task_for(username, "self_evaluation")
        return _one_done(
            people[username].on_both(f"/tasks/{task['id']}/complete", {"data": scores_for(88, username in LEADERS)}),
            username,
        )

    with ThreadPoolExecutor(4) as pool:  # four people at a time, each on both servers
        list(pool.map(self_evaluate, everyone))

    def review(reviewer, subject, total):
        task = people[reviewer].task_for(subject, review_step(subject))
        form = dict(scores_for(total, subject in LEADERS), days_worked=21, proposed_level="B", comment="Nhận xét")
        return _one_done(
            people[reviewer].on_both(f"/tasks/{task['id']}/complete", {"data": form}), f"{reviewer} reviews {subject}"
        )

    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda job: review(*job), [(r, s, t) for r, totals in REVIEW_TOTALS.items() for s, t in totals.items()]
            )
        )

    gd = people["gd"]
    pending = [t for t in gd.get("/tasks") if t["step"] == "decision"]
    assert len(pending) == 11
    lowered = {"dtg", "lvc"}  # five reviews reach A; the quota allows three
    items = [
        {"instance_id": t["instance_id"]}
        if t["subject"]["username"] not in lowered
        else {"instance_id": t["instance_id"], "level": "B", "reason": "Bảo đảm tỷ lệ loại A"}
        for t in pending
    ]
    decided = gd.on_both("/decisions", {"unit": "SNV", "period": PERIOD, "items": items})
    assert sorted(r.status_code for r in decided) == [200, 409], [r.text[:300] for r in decided]
    gd_task = people["chutich"].task_for("gd", "decision")
    _one_done(
        people["chutich"].on_both(
            "/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": gd_task["instance_id"]}]}
        ),
        "chutich",
    )

    db.session.expire_all()
    records = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.period == PERIOD)).all()
    assert {r.status for r in records} == {"published"} and len(records) == 12

    # the workers' own metrics see the same database
    body = requests.get(cluster.worker_metrics[0], timeout=10).text
    assert "danhgia_open_tasks" in body and "danhgia_database_up 1.0" in body
    # each server counts the completions it did (gunicorn's multiprocess metrics): together, every one once
    done_by_servers = 0.0
    for server in cluster.servers:
        for line in requests.get(f"{server}/metrics", timeout=10).text.splitlines():
            if line.startswith("danhgia_task_completions_total{"):
                done_by_servers += float(line.rpartition(" ")[2])
    assert done_by_servers == 12 + 12 + 11 + 1

    # the appeal window closes: both workers fire the timers at the same moment
    now = later(30).isoformat()
    barrier = threading.Barrier(2)

    def fire(_):
        barrier.wait()
        return subprocess.run(
            [str(BIN / "flask"), "--app", "app", "timers", "run", "--now", now],
            cwd=ROOT,
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(fire, (0, 1)))
    assert all(r.returncode == 0 for r in runs), [r.stderr[-2000:] for r in runs]
    fired = [int(next(line for line in r.stdout.splitlines() if line.startswith("fired="))[6:]) for r in runs]
    assert sum(fired) == 12, fired

    db.session.expire_all()
    records = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.period == PERIOD)).all()
    assert {r.status for r in records} == {"locked"}
    # exactly one completed task per step per instance, nothing left waiting
    done = Counter(
        db.session.execute(select(HumanTask.instance_id, HumanTask.step).where(HumanTask.status == "completed")).all()
    )
    assert set(done.values()) == {1}
    steps = Counter(step for _, step in done)
    assert steps == {"self_evaluation": 12, "review": 8, "review_by_decider": 4, "decision": 12}
    assert db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "ready")) == 0
    completed_events = Counter(
        db.session.execute(
            select(AuditEvent.instance_id, AuditEvent.step).where(AuditEvent.action == "task_completed")
        ).all()
    )
    assert completed_events == done
    timer_events = Counter(db.session.scalars(select(AuditEvent.instance_id).where(AuditEvent.action == "timer_fired")))
    assert len(timer_events) == 12 and set(timer_events.values()) == {1}
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "batch_decided")).all()) == 2
