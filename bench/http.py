"""Task completion through the JSON API under gunicorn, with concurrent clients.

Each client is a thread in the bench process that completes self-evaluations, one request at a time
(a closed loop, no think time): POST /api/v1/tasks/{id}/complete with a valid form, as the subject,
with a bearer token created directly in the database for the run.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent


def tokens_for(engine, user_ids: list[int]) -> dict[int, str]:
    """A bearer token per user, stored hashed as accounts.issue_token would."""
    out, rows = {}, []
    expires = datetime.now(timezone.utc) + timedelta(hours=12)
    for uid in user_ids:
        token = secrets.token_urlsafe(32)
        out[uid] = token
        rows.append(
            {"u": uid, "h": hashlib.sha256(token.encode()).hexdigest(), "e": expires, "c": datetime.now(timezone.utc)}
        )
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (:u, :h, :c, :e)"), rows
        )
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _pids(match) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        comm, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
        if match(int(name), comm, int(rest[1])):
            out.append(int(name))
    return out


def cpu_by_side(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the app server (gunicorn master and workers), of PostgreSQL (every
    postgres process on the machine) and of this process (the clients): where a completion's cost goes."""
    app = _pids(lambda pid, comm, pgid: pgid == server_pid)
    pg = _pids(lambda pid, comm, pgid: comm.startswith("postgres"))
    return {"app": sum(map(_proc_cpu, app)), "db": sum(map(_proc_cpu, pg)), "clients": time.process_time()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, database_url: str, instance_path: str, workers: int):
        self.port = _free_port()
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            INSTANCE_PATH=instance_path,
            SECRET_KEY="bench-secret-key",
            SMTP_HOST="",
            # stderr is a pipe nobody reads while the clients run: a log line per completion would
            # fill it and block the workers
            LOG_LEVEL="WARNING",
        )
        self.proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--log-level",
                "warning",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/openapi.json")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _complete(port: int, job: tuple[str, int, dict]) -> int:
    """POST one completion (token, task id, form data); its HTTP status."""
    token, task_id, data = job
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(
        "POST",
        f"/api/v1/tasks/{task_id}/complete",
        body=json.dumps({"data": data}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def _outcome(began: float, latencies: list, statuses: dict, cpu_before: dict | None, server_pid, n: int) -> dict:
    wall = time.perf_counter() - began
    cpu = None
    if cpu_before is not None:
        after = cpu_by_side(server_pid)
        cpu = {side: 1000 * (after[side] - cpu_before[side]) / max(n, 1) for side in after}
    return {
        "wall": wall,
        "latencies": latencies,
        "statuses": statuses,
        "cpu_ms": cpu,
        "rate": statuses.get(200, 0) / wall if wall else 0.0,
    }


def complete_all(port: int, jobs: list[tuple[str, int, dict]], clients: int, server_pid: int | None = None) -> dict:
    """Run `jobs` (token, task id, form data) with `clients` concurrent clients; latencies in ms, and
    with `server_pid` (gunicorn's process group) the CPU each side spent."""
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    latencies, statuses, lock = [], {}, threading.Lock()

    def client():
        while True:
            try:
                job = work.get_nowait()
            except queue.Empty:
                return
            began = time.perf_counter()
            status = _complete(port, job)
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    cpu_before = cpu_by_side(server_pid) if server_pid else None
    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _outcome(began, latencies, statuses, cpu_before, server_pid, len(jobs))


def complete_at_rate(
    port: int, jobs: list[tuple[str, int, dict]], rate: float, server_pid: int | None = None, seed: int = 3814
) -> dict:
    """An open loop: `jobs` arrive at random (Poisson, `rate` a second on average) whatever the
    server's answers, as people do; each latency is counted from the moment its request was due, so
    a server that falls behind shows it (no coordinated omission). Threads are plenty, so that a
    slow answer never delays the next arrival."""
    import random

    rng = random.Random(seed)
    due, at = [], 0.0
    for _ in jobs:
        at += rng.expovariate(rate)
        due.append(at)
    work: queue.Queue = queue.Queue()
    latencies, statuses, lock = [], {}, threading.Lock()

    def client():
        while True:
            item = work.get()
            if item is None:
                return
            planned, job = item
            status = _complete(port, job)
            elapsed = (time.perf_counter() - planned) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(64)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_by_side(server_pid) if server_pid else None
    began = time.perf_counter()
    for offset, job in zip(due, jobs, strict=True):
        wait = began + offset - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        work.put((began + offset, job))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return dict(_outcome(began, latencies, statuses, cpu_before, server_pid, len(jobs)), offered=rate)
