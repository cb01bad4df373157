"""Probes and metrics: /healthz answers without the database, /readyz only when the database answers at
the migration head (and says nothing about why not), /metrics only to allowed networks or the token."""

from __future__ import annotations

from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import HumanTask
from app.services import metrics

from .authz_probe import scenario


def test_healthz_needs_no_database(tmp_path):
    broken = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.sqlite3", "TESTING": True})
    client = broken.test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json() == {"status": "unavailable"}
    assert "sqlite" not in ready.get_data(as_text=True)


def test_readyz_at_head_and_behind(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    with db.engine.begin() as conn:
        head = conn.scalar(text("SELECT version_num FROM alembic_version"))
        conn.execute(text("UPDATE alembic_version SET version_num = 'older_revision'"))
    try:
        behind = client.get("/readyz")
        assert behind.status_code == 503 and behind.get_json() == {"status": "unavailable"}
        assert "older_revision" not in behind.get_data(as_text=True) and head not in behind.get_data(as_text=True)
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert client.get("/readyz").status_code == 200


def _sample(body: str, name: str, **labels) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == (f"{name}{{{want}}}" if labels else name):
            return float(value)
    return None


def test_metrics_refused_from_another_network_unless_the_token(ctx, client):
    ctx.config["METRICS_TOKEN"] = "s3cret-scrape"
    try:
        far = {"REMOTE_ADDR": "10.20.30.40"}
        assert client.get("/metrics", environ_base=far).status_code == 403
        assert client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer wrong"}).status_code == 403
        ok = client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer s3cret-scrape"})
        assert ok.status_code == 200 and "danhgia_open_tasks" in ok.get_data(as_text=True)
    finally:
        ctx.config["METRICS_TOKEN"] = ""
    ctx.config["METRICS_ALLOW"] = "10.0.0.0/8"
    try:
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
        assert client.get("/metrics").status_code == 403  # loopback no longer listed
    finally:
        ctx.config["METRICS_ALLOW"] = "127.0.0.1/32,::1/128"


def test_metrics_report_the_month(ctx, client):
    before = metrics.COMPLETIONS.labels("self_evaluation")._value.get()
    scenario(client)  # opens a month for a division; ttb self-evaluates
    client.get("/login")
    body = client.get("/metrics").get_data(as_text=True)
    ready = db.session.scalar(
        text("SELECT count(*) FROM human_tasks WHERE status = 'ready' AND step = 'self_evaluation'")
    )
    assert ready > 0
    assert _sample(body, "danhgia_open_tasks", step="self_evaluation") == ready
    assert (
        _sample(body, "danhgia_open_tasks", step="review")
        == db.session.query(HumanTask).filter_by(status="ready", step="review").count()
    )
    assert _sample(body, "danhgia_task_completions_total", step="self_evaluation") == before + 1
    assert _sample(body, "danhgia_mail_queue_depth") is not None
    assert _sample(body, "danhgia_timer_lag_seconds") == 0.0
    assert _sample(body, "danhgia_database_up") == 1.0
    # latency by the route's endpoint name, never by the raw path
    assert _sample(body, "danhgia_request_seconds_count", endpoint="auth.login", method="GET") >= 1
    assert "/api/v1/tasks/" not in body


def test_timer_lag_and_the_workers_own_port(ctx, client):
    import socket
    import urllib.request
    from datetime import datetime, timedelta, timezone

    from app.models import ProcessInstance

    scenario(client)
    instance = db.session.query(ProcessInstance).first()
    instance.next_timer_at = datetime.now(timezone.utc) - timedelta(minutes=10)
    db.session.commit()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    metrics.start_worker_server(ctx, port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert 600 <= _sample(body, "danhgia_timer_lag_seconds") < 700
    assert _sample(body, "danhgia_timers_fired_total") is not None
