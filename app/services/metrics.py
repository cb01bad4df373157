"""Prometheus metrics for app servers and workers (docs/operations.md, "Metrics").

Two kinds:
- per-process measurements (request latency, completions, timers fired): prometheus-client metrics.
  Under gunicorn, several worker processes each hold their own; with PROMETHEUS_MULTIPROC_DIR set
  (gunicorn.conf.py sets it) they write to files there and a scrape of any process adds them up.
- the state of the database (open tasks by step, mail queue depth, timer lag): one query per scrape,
  through a collector, so every process reports the same truth and nothing goes stale between scrapes.

`/metrics` is not for the public: a scrape is allowed from METRICS_ALLOW networks (default loopback)
or with `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from app.models.workflow import TASK_READY

log = logging.getLogger(__name__)

# Buckets around the product's targets: pages ≤ 200 ms, the slowest lists ≤ 1 s.
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "danhgia_request_seconds", "Time to answer a request, by route endpoint", ["endpoint", "method"], buckets=_BUCKETS
)
COMPLETIONS = Counter("danhgia_task_completions", "Tasks completed, by step", ["step"])
TIMERS_FIRED = Counter("danhgia_timers_fired", "Instances whose due timers a worker fired")
MAIL_SENT = Counter("danhgia_mail_sent", "E-mails a worker handed to the SMTP server")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (needs the Flask app for its session)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from app.extensions import db
        from app.models import HumanTask, OutgoingMail, ProcessInstance
        from app.services import transaction

        open_tasks = GaugeMetricFamily("danhgia_open_tasks", "Tasks waiting for someone, by step", labels=["step"])
        queue = GaugeMetricFamily("danhgia_mail_queue_depth", "E-mails queued and not yet sent")
        lag = GaugeMetricFamily(
            "danhgia_timer_lag_seconds", "How long the oldest due timer has waited for a worker (0: none waiting)"
        )
        up = GaugeMetricFamily("danhgia_database_up", "1 when the database answered this scrape")
        with self.app.app_context():
            try:
                now = datetime.now(timezone.utc)
                for step, count in db.session.execute(
                    select(HumanTask.step, func.count()).where(HumanTask.status == TASK_READY).group_by(HumanTask.step)
                ):
                    open_tasks.add_metric([step], count)
                queue.add_metric(
                    [],
                    db.session.scalar(
                        select(func.count()).select_from(OutgoingMail).where(OutgoingMail.status == "queued")
                    )
                    or 0,
                )
                oldest = db.session.scalar(
                    select(func.min(ProcessInstance.next_timer_at)).where(
                        ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now
                    )
                )
                if oldest is not None and oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=timezone.utc)
                lag.add_metric([], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
                up.add_metric([], 1)
            except Exception:
                log.warning("metrics: the database did not answer", exc_info=True)
                up.add_metric([], 0)
            finally:
                transaction.discard()
                db.session.remove()
        yield from (open_tasks, queue, lag, up)


def schema_revisions(app) -> tuple[set[str], set[str]]:
    """The database's migration revisions and the heads shipped with this code (read once per process),
    for the readiness probe; raises when the database does not answer."""
    heads = app.extensions.get("migration_heads")
    if heads is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", os.path.join(app.root_path, "..", "migrations"))
        heads = app.extensions["migration_heads"] = set(ScriptDirectory.from_config(cfg).get_heads())
    from app.extensions import db

    current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    return current, heads


def registry_for(app) -> CollectorRegistry:
    """What a scrape of this process reports: every process's own metrics (summed from the
    multiprocess directory when there is one) plus the database's gauges."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import ProcessCollector

        registry = CollectorRegistry()
        for collector in (REQUEST_SECONDS, COMPLETIONS, TIMERS_FIRED, MAIL_SENT):
            registry.register(collector)
        ProcessCollector(registry=registry)  # the process's own CPU and memory
    registry.register(DatabaseCollector(app))
    return registry


def render(app) -> bytes:
    registry = app.extensions.get("metrics_registry")
    if registry is None:
        registry = app.extensions["metrics_registry"] = registry_for(app)
    return generate_latest(registry)


def _networks(text: str) -> list:
    nets = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return nets


def scrape_allowed(remote_addr: str | None, authorization: str | None, config) -> bool:
    """A scraper on an allowed network, or one that shows the bearer token."""
    token = config.get("METRICS_TOKEN") or ""
    if token and authorization and authorization.startswith("Bearer "):
        if hmac.compare_digest(authorization[len("Bearer ") :].strip().encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%")[0])
    except ValueError:
        return False
    return any(address in net for net in _networks(config.get("METRICS_ALLOW", "")))


def observe_request(endpoint: str | None, method: str, seconds: float) -> None:
    # Label by the route's endpoint name, never the raw path: ids in paths would explode the series.
    REQUEST_SECONDS.labels(endpoint or "unmatched", method).observe(seconds)


def start_worker_server(app, port: int, addr: str = "127.0.0.1") -> None:
    """The worker's own /metrics on `port` (it serves no web pages of its own)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=registry_for(app))
