"""Accounts and sessions under attack: lockout, password policy, tokens, CSRF, headers, expiry,
and a database that goes away in the middle of a request."""

from __future__ import annotations

from flask import has_request_context

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, text

from app.extensions import db
from app.models import ApiToken, AuditEvent, EvaluationRecord, HumanTask
from app.web import JSON_FORM_ENDPOINTS

from .conftest import PERIOD, csrf_token, user
from .support import Api, scores_for
from .test_pages import login


def _login_post(client, username, password):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )


def test_lockout_after_five_failures_even_with_the_right_password(client):
    for _ in range(5):
        assert _login_post(client, "ttb", "sai-mat-khau-1").status_code == 401
    locked = _login_post(client, "ttb", "DanhGia@2026")
    assert locked.status_code == 429 and "tạm khóa" in locked.get_data(as_text=True)
    api = client.post("/api/v1/auth/token", json={"username": "ttb", "password": "DanhGia@2026"})
    assert api.status_code == 429 and api.get_json()["error"] == "locked"
    assert _login_post(client, "lvc", "DanhGia@2026").status_code == 302  # others are not locked
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "login_failed", AuditEvent.step == "ttb")
        )
        == 5
    )


def test_a_success_resets_the_failure_count(client):
    for _ in range(4):
        _login_post(client, "ttb", "sai-mat-khau-1")
    assert _login_post(client, "ttb", "DanhGia@2026").status_code == 302
    for _ in range(4):
        assert _login_post(client, "ttb", "sai-mat-khau-1").status_code == 401
    assert _login_post(client, "ttb", "DanhGia@2026").status_code == 302


def test_password_policy_and_change_revokes_tokens(client):
    api = Api(client, "ttb")
    login(client, "ttb")
    old_hash = user("ttb").password_hash
    page = client.get("/account/password").get_data(as_text=True)
    for weak in ("ngan1", "khongcoso", "1234567890", "ttb12345678"):
        resp = client.post(
            "/account/password",
            data={"current": "DanhGia@2026", "new": weak, "confirm": weak, "csrf_token": csrf_token(page)},
        )
        assert resp.status_code == 422, weak
    assert user("ttb").password_hash == old_hash
    resp = client.post(
        "/account/password",
        data={
            "current": "DanhGia@2026",
            "new": "Hoa-Sen-2027-xanh",
            "confirm": "Hoa-Sen-2027-xanh",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 302 and user("ttb").password_hash != old_hash
    assert api.get("/tasks").status_code == 401  # old API tokens revoked
    assert (
        client.post("/api/v1/auth/token", json={"username": "ttb", "password": "Hoa-Sen-2027-xanh"}).status_code == 200
    )


def test_tokens_are_hashed_expire_and_can_be_revoked(client):
    resp = client.post("/api/v1/auth/token", json={"username": "ttb", "password": "DanhGia@2026"}).get_json()
    token = resp["token"]
    row = db.session.scalars(select(ApiToken)).one()
    assert token not in row.token_hash and len(row.token_hash) == 64
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    api = Api(client, "ttb")
    assert api.client.delete("/api/v1/auth/token", headers=api.headers).status_code == 200
    assert api.get("/tasks").status_code == 401


def test_every_html_form_route_requires_a_csrf_token(ctx, client):
    login(client, "admin")
    posts = [r for r in ctx.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")]
    assert len(posts) >= 8
    for rule in posts:
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "hanoi-monthly")
        resp = client.post(url, data={"x": "1"})
        if rule.endpoint in JSON_FORM_ENDPOINTS:  # the autosave reads its answer as JSON
            assert resp.status_code == 400 and resp.get_json()["error"] == "csrf", rule.rule
            continue
        # refused like any form: back to the page (here: home, no Referer) with the reason, nothing run
        assert resp.status_code == 302 and resp.headers["Location"] == "/", (rule.rule, resp.status_code)
        assert "Trang đã hết hạn, vui lòng gửi lại." in client.get("/").get_data(as_text=True)


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "HttpOnly" in _login_post(client, "ttb", "DanhGia@2026").headers["Set-Cookie"]


def test_session_expires(ctx, client):
    old = ctx.config["PERMANENT_SESSION_LIFETIME"]
    ctx.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    try:
        login(client, "ttb")
        assert client.get("/").status_code == 200
        time.sleep(2.1)
        assert client.get("/").status_code == 302
    finally:
        ctx.config["PERMANENT_SESSION_LIFETIME"] = old


def test_database_dropping_mid_request_writes_nothing(ctx, client):
    """The connection dies just before COMMIT (PostgreSQL terminates the backend for real):
    the user gets a clear 503 and not one row of the completion is stored."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("terminating a server connection needs PostgreSQL; the SQLite run covers the rest")
    Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD})
    ttb = Api(client, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    audits_before = db.session.scalar(select(func.count()).select_from(AuditEvent))

    def kill(session):
        if not has_request_context():  # the test client's own commit before the request: not the one to break
            return
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    from sqlalchemy.orm import Session

    event.listen(Session, "before_commit", kill)
    try:
        resp = ttb.post(f"/tasks/{task['id']}/complete", {"data": scores_for(85)})
    finally:
        event.remove(Session, "before_commit", kill)
    assert resp.status_code == 503 and resp.get_json()["error"] == "unavailable"
    db.session.rollback()
    assert db.session.get(HumanTask, task["id"]).status == "ready"
    assert (
        db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id))
        .one()
        .self_total
        is None
    )
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits_before
    assert ttb.complete(task["id"], scores_for(85))["instance"]["result"]["self_total"] == 85  # and it recovers


def test_sign_out_everywhere_ends_other_sessions_and_tokens(ctx):
    phone, laptop = ctx.test_client(), ctx.test_client()
    login(phone, "ttb")
    login(laptop, "ttb")
    api = Api(phone, "ttb")
    page = laptop.get("/account/password").get_data(as_text=True)
    assert laptop.post("/logout/everywhere", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert phone.get("/").status_code == 302 and laptop.get("/").status_code == 302
    assert api.get("/tasks").status_code == 401
    assert user("ttb").session_version == 2
    login(phone, "ttb")
    assert phone.get("/").status_code == 200


def test_drafts_are_saved_restored_and_locked_after_submission(client):
    Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD})
    task = Api(client, "ttb").task_for("ttb", "self_evaluation")
    login(client, "ttb")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    saved = client.post(
        f"/tasks/{task['id']}/draft",
        data={"scores[I.1]": "4,5", "comment": "Đang viết dở…", "csrf_token": csrf_token(page)},
    )
    assert saved.status_code == 200 and "saved_at" in saved.get_json()
    again = client.get(f"/tasks/{task['id']}").get_data(as_text=True)  # e.g. after the connection dropped
    assert "Đang viết dở…</textarea>" in again and 'name="scores[I.1]"' in again and 'value="4,5"' in again
    refused = client.post(f"/tasks/{task['id']}/draft", data={"comment": "x"})  # no CSRF token
    assert refused.status_code == 400 and refused.get_json()["error"] == "csrf"  # autosave reads JSON
    login(client, "lvc")
    other = client.get("/").get_data(as_text=True)
    assert (
        client.post(f"/tasks/{task['id']}/draft", data={"comment": "x", "csrf_token": csrf_token(other)}).status_code
        == 403
    )
    Api(client, "ttb").complete(task["id"], scores_for(80))
    from app.models import TaskDraft

    assert db.session.scalar(select(func.count()).select_from(TaskDraft)) == 0
    login(client, "ttb")
    page = client.get("/").get_data(as_text=True)
    locked = client.post(
        f"/tasks/{task['id']}/draft", data={"comment": "sửa sau khi gửi", "csrf_token": csrf_token(page)}
    )
    assert locked.status_code == 409


def test_audit_trail_is_append_only_in_postgresql(ctx, client):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite relies on the application having no such path")
    Api(client, "ttb")  # writes a login_succeeded event
    from sqlalchemy.exc import DBAPIError

    for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
