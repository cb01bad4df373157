"""One unit of work for changing an instance (issue #13): every path that changes an instance goes
through services.unit_of_work.edit and services.transaction, answers the same for the same cause,
logs what failed, and leaves nothing half-written."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.engine.runtime import EngineError, Workflow
from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask, Notification, ProcessInstance
from app.services import errors
from app.services.evaluation import instances, operations, timers
from app.services.process_design import designer, versions
from app.services.transaction import committed

from .conftest import PERIOD, csrf_token, user
from .monitor_seed import instance_id, open_month, ready_task, record, review, self_evaluate
from .support import Api, scores_for
from .test_pages import login, score_fields

AFTER_SELF_DUE = "2030-04-04T08:00:00+07:00"
REASON = "Theo đề nghị của phòng Tổ chức cán bộ"


def counts() -> tuple:
    """Everything a change to an instance writes."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) for model in (AuditEvent, HumanTask, Notification)
    ) + (
        tuple(db.session.scalars(select(ProcessInstance.lock_version).order_by(ProcessInstance.id))),
        tuple(db.session.scalars(select(EvaluationRecord.status).order_by(EvaluationRecord.id))),
    )


@pytest.fixture()
def division(client):
    open_month(client, "SNV-TCCB")
    db.session.expire_all()
    return client


# ------------------------------------------------------------------------- the paths, one by one
def _complete_status(api, task_id, data):
    return api.post(f"/tasks/{task_id}/complete", json={"data": data})


def test_stale_and_locked_get_one_answer_everywhere(division, monkeypatch):
    client = division
    self_evaluate(client, "ptd")
    nva, ttb, tptc = Api(client, "nva"), Api(client, "ttb"), Api(client, "tptc")
    ttb_task = ttb.task_for("ttb", "self_evaluation")["id"]
    lvc = instance_id("lvc")
    ptd_review = ready_task("ptd", "review").id
    calls = {
        "complete": lambda: _complete_status(ttb, ttb_task, dict(scores_for(85), comment="x")),
        "not_evaluated": lambda: tptc.post(f"/instances/{lvc}/not-evaluated", {"reason": "Nghỉ ốm cả tháng"}),
        "suspend": lambda: nva.post(f"/instances/{lvc}/suspend", {"reason": REASON}),
        "terminate": lambda: nva.post(f"/instances/{lvc}/terminate", {"reason": REASON}),
        "extend": lambda: nva.post(f"/human-tasks/{ptd_review}/extend", {"due_date": "2030-04-10", "reason": REASON}),
        "reassign": lambda: nva.post(f"/human-tasks/{ptd_review}/reassign", {"assignee": "tpcc", "reason": REASON}),
    }
    real_lock, real_lock_of_task = instances.lock, instances.lock_of_task
    for cause, exc, status, code, message in (
        ("stale", StaleDataError("UPDATE expected 1 row"), 409, "conflict", errors.STALE_EN),
        ("locked", OperationalError("SELECT", {}, Exception("database is locked")), 409, "busy", errors.BUSY_EN),
        (
            "pg lock timeout",
            OperationalError("SELECT", {}, Exception("canceling statement due to lock timeout")),
            409,
            "busy",
            errors.BUSY_EN,
        ),
        (
            "unavailable",
            OperationalError("SELECT", {}, Exception("server closed the connection")),
            503,
            "unavailable",
            errors.UNAVAILABLE_EN,
        ),
    ):

        def failing(*args, _exc=exc, **kwargs):
            raise _exc

        monkeypatch.setattr(instances, "lock", failing)
        monkeypatch.setattr(instances, "lock_of_task", failing)
        before = counts()
        for name, call in calls.items():
            resp = call()
            body = resp.get_json()
            assert (resp.status_code, body["error"], body["message_en"]) == (status, code, message), (cause, name, body)
        db.session.expire_all()
        assert counts() == before, cause
        monkeypatch.setattr(instances, "lock", real_lock)
        monkeypatch.setattr(instances, "lock_of_task", real_lock_of_task)

    # the same causes outside a unit of work (the global handler) get the same answers
    def busy_inbox(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    from app.services.evaluation import tasks

    monkeypatch.setattr(tasks, "inbox", busy_inbox)
    resp = ttb.get("/tasks")
    assert (resp.status_code, resp.get_json()["error"], resp.get_json()["message_en"]) == (409, "busy", errors.BUSY_EN)


def test_a_writer_between_the_lock_and_the_save_gets_the_stale_answer(division, monkeypatch):
    """The instance's UPDATE checks the version it read (as the mapper's version column did): a
    version moved meanwhile (SQLite has no row lock) answers "changed meanwhile" and writes nothing."""
    ttb = Api(division, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")["id"]
    real = instances.lock_of_task

    def lock_then_someone_writes(*args, **kwargs):
        found = real(*args, **kwargs)
        locked = found[0]
        table = ProcessInstance.__table__  # behind the session's back, as another connection would
        db.session.execute(update(table).where(table.c.id == locked.id).values(lock_version=locked.lock_version + 1))
        return found

    monkeypatch.setattr(instances, "lock_of_task", lock_then_someone_writes)
    before = counts()
    resp = _complete_status(ttb, task, dict(scores_for(85), comment="x"))
    assert (resp.status_code, resp.get_json()["message_en"]) == (409, errors.STALE_EN)
    db.session.expire_all()
    assert counts() == before
    monkeypatch.setattr(instances, "lock_of_task", real)
    assert _complete_status(ttb, task, dict(scores_for(85), comment="x")).status_code == 200
    db.session.expire_all()
    assert db.session.get(HumanTask, task).status == "completed"
    assert record("ttb").self_total == 85


def test_an_engine_error_is_a_logged_409_and_writes_nothing(division, monkeypatch, caplog):
    client = division
    ttb = Api(client, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    real_save = instances.save

    def save_then_fail(instance, workflow, actor=None, **kwargs):
        real_save(instance, workflow, actor, **kwargs)  # the projection is written (flushed) ...
        raise EngineError("wd_after() nhận 'None'", "review_deadline")  # ... and then the engine fails

    monkeypatch.setattr(instances, "save", save_then_fail)
    before = counts()
    with caplog.at_level(logging.INFO, logger="app.uow"):
        resp = ttb.post(f"/tasks/{task['id']}/complete", json={"data": dict(scores_for(85), comment="x")})
    assert resp.status_code == 409
    assert resp.get_json()["message_en"] == "The process failed at review_deadline: wd_after() nhận 'None'"
    assert resp.get_json()["details"][0]["element"] == "review_deadline"
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR and "engine error" in r.getMessage()]
    assert "task_completed failed" in logged.getMessage() and "review_deadline" in logged.getMessage()
    db.session.expire_all()
    assert counts() == before  # no audit row, no task, no notification, same version
    assert ready_task("ttb", "self_evaluation").id == task["id"]

    # the same through the HTML page, which shares one workflow between the page and the submit
    login(client, "ttb")
    href = f"/tasks/{task['id']}"
    page = client.get(href).get_data(as_text=True)
    before = counts()
    resp = client.post(href, data=dict(score_fields(85), comment="x", csrf_token=csrf_token(page)))
    # post/redirect/get: the refusal lands back on the task's page with the reason, so a reload never posts
    assert resp.status_code == 302 and resp.headers["Location"].endswith(href)
    assert "review_deadline" in client.get(href).get_data(as_text=True)
    db.session.expire_all()
    assert counts() == before


def test_the_html_submit_loads_the_workflow_once(division, monkeypatch, caplog):
    client = division
    task = ready_task("ttb", "self_evaluation")
    login(client, "ttb")
    href = f"/tasks/{task.id}"
    page = client.get(href).get_data(as_text=True)
    loads = []
    real_load = Workflow.load.__func__

    def counting(cls, *args, **kwargs):
        loads.append(1)
        return real_load(cls, *args, **kwargs)

    monkeypatch.setattr(Workflow, "load", classmethod(counting))
    with caplog.at_level(logging.INFO, logger="app.uow"):
        resp = client.post(href, data=dict(score_fields(85), comment="x", csrf_token=csrf_token(page)))
    assert resp.status_code == 302
    assert len(loads) == 1
    assert any(r.getMessage().startswith(f"task_completed: instance={task.instance_id} by=ttb") for r in caplog.records)
    db.session.expire_all()
    assert record("ttb").status == "review"
    [done] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "task_completed", AuditEvent.instance_id == task.instance_id)
    ).all()
    assert done.actor.username == "ttb"

    # a refusal shows the page again from the same single load, and writes nothing
    self_task = ready_task("nva", "self_evaluation")
    login(client, "nva")
    page = client.get(f"/tasks/{self_task.id}").get_data(as_text=True)
    loads.clear()
    before = counts()
    resp = client.post(f"/tasks/{self_task.id}", data={"scores[I.1]": "99", "csrf_token": csrf_token(page)})
    assert resp.status_code == 422 and len(loads) == 1
    db.session.expire_all()
    assert counts() == before


def test_a_batch_decision_is_all_or_nothing_through_the_unit_of_work(division, monkeypatch):
    client = division
    for name in ("ttb", "lvc"):
        self_evaluate(client, name)
    review(client, "tptc", "ttb", 80)
    review(client, "tptc", "lvc", 78)
    gd = Api(client, "gd")
    items = [{"instance_id": instance_id("ttb")}, {"instance_id": instance_id("lvc")}]
    real_complete = Workflow.complete
    seen = []

    def second_fails(self, task_uuid, form):
        seen.append(task_uuid)
        if len(seen) == 2:
            raise EngineError("publish script failed", "publish")
        return real_complete(self, task_uuid, form)

    monkeypatch.setattr(Workflow, "complete", second_fails)
    before = counts()
    resp = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items})
    assert resp.status_code == 409 and "publish" in resp.get_json()["message_en"]
    db.session.expire_all()
    assert counts() == before  # the first record, decided in memory, is not kept
    assert record("ttb").status == "decision"
    monkeypatch.setattr(Workflow, "complete", real_complete)
    resp = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert {record("ttb").status, record("lvc").status} == {"published"}


def test_an_appeal_goes_through_the_unit_of_work(division, monkeypatch):
    client = division
    self_evaluate(client, "ttb")
    review(client, "tptc", "ttb", 80)
    gd = Api(client, "gd")
    assert (
        gd.post(
            "/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": instance_id("ttb")}]}
        ).status_code
        == 200
    )
    ttb = Api(client, "ttb")
    path = f"/instances/{instance_id('ttb')}/appeal"
    monkeypatch.setattr(instances, "lock", lambda *a, **k: (_ for _ in ()).throw(StaleDataError("x")))
    resp = ttb.post(path, {"reason": "Đề nghị xem xét lại điểm"})
    assert (resp.status_code, resp.get_json()["message_en"]) == (409, errors.STALE_EN)
    monkeypatch.undo()
    resp = ttb.post(path, {"reason": "Đề nghị xem xét lại điểm"})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert record("ttb").appealed and ready_task("ttb", "appeal_decision")
    # twice: the workflow no longer waits for an appeal -> the appeal's own 409 message
    again = ttb.post(path, {"reason": "Đề nghị xem xét lại điểm"})
    assert again.status_code == 409


def test_a_timer_engine_error_is_kept_on_the_instance_and_logged(division, monkeypatch, caplog):
    from datetime import datetime

    ttb = instance_id("ttb")

    def broken(self, now=None):
        raise EngineError("wd_after() nhận 'None'", "self_evaluation_deadline")

    monkeypatch.setattr(Workflow, "run_timers", broken)
    with caplog.at_level(logging.INFO):
        fired = timers.run_due(datetime.fromisoformat(AFTER_SELF_DUE))
    assert fired == 0
    db.session.expire_all()
    failed = db.session.get(ProcessInstance, ttb)
    assert failed.status == "error" and failed.error.startswith("self_evaluation_deadline: ")
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == ttb, AuditEvent.action == "engine_error")
    ).all()
    assert event.details["element"] == "self_evaluation_deadline"
    assert any("timer_fired failed" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert any(r.getMessage().startswith("timer sweep:") for r in caplog.records)
    # no task of the failed instance closed half-way
    assert ready_task("ttb", "self_evaluation")


def test_the_designer_move_and_migration_go_through_the_unit_of_work(division, monkeypatch):
    client = division
    self_evaluate(client, "nva")
    nva = instance_id("nva")
    monkeypatch.setattr(
        instances,
        "lock",
        lambda *a, **k: (_ for _ in ()).throw(OperationalError("SELECT", {}, Exception("database is locked"))),
    )
    with pytest.raises(errors.Conflict) as info:
        with committed():
            designer.move_instance(nva, "self_evaluation", user("admin"), "Sửa nhầm")
    assert info.value.message_en == errors.BUSY_EN
    version = versions.latest_published()
    with committed():
        result = designer.migrate_instances([nva], version.id, user("admin"))
    assert result[0]["moved"] is False and result[0]["message_en"] == errors.BUSY_EN
    monkeypatch.undo()
    with committed():
        moved = designer.move_instance(nva, "self_evaluation", user("admin"), "Sửa nhầm")
    assert moved["to"] == "self_evaluation"
    db.session.expire_all()
    assert ready_task("nva", "self_evaluation")


def test_services_never_commit(division):
    """The caller owns the transaction: a use case's changes are gone after the caller's rollback."""
    lvc = instance_id("lvc")
    operations.suspend(user("nva"), lvc, REASON)
    assert db.session.get(ProcessInstance, lvc).status == "suspended"
    db.session.rollback()
    assert db.session.get(ProcessInstance, lvc).status == "running"
    with committed():
        operations.suspend(user("nva"), lvc, REASON)
    db.session.expire_all()
    assert db.session.get(ProcessInstance, lvc).status == "suspended"


def test_only_the_transaction_helper_commits():
    root = Path(__file__).resolve().parent.parent / "app"
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if path.name != "transaction.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"session\.(commit|rollback)\(", line)
    ]
    assert offenders == []


def test_a_refused_sign_in_is_counted_even_though_the_request_is_rolled_back(client):
    resp = client.post("/api/v1/auth/token", json={"username": "nva", "password": "sai"})
    assert resp.status_code == 401
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "login_failed", AuditEvent.step == "nva")
        )
        == 1
    )


def test_an_expired_deadline_extension_keeps_the_timer_in_step(division):
    """extend_deadline runs the engine (move_deadlines) in the unit: the projection and the
    snapshot change together."""
    nva = Api(division, "nva")
    task = ready_task("ttb", "self_evaluation")
    old = task.due_at
    resp = nva.post(f"/human-tasks/{task.id}/extend", {"due_date": "2030-04-10", "reason": REASON})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    task = ready_task("ttb", "self_evaluation")
    assert task.due_at > old + timedelta(days=3)
    assert db.session.get(ProcessInstance, task.instance_id).next_timer_at is not None


def test_log_lines_name_the_request_the_user_and_the_instance(division, caplog):
    ttb = Api(division, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    with caplog.at_level(logging.INFO, logger="app"):
        resp = ttb.client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            json={"data": dict(scores_for(85), comment="x")},
            headers=dict(ttb.headers, **{"X-Request-Id": "req-42"}),
        )
    assert resp.status_code == 200 and resp.headers["X-Request-Id"] == "req-42"
    [line] = [r for r in caplog.records if r.getMessage().startswith("task_completed:")]
    assert (line.request_id, line.user, line.instance_id) == ("req-42", "ttb", task["instance_id"])
    from app.logs import FORMAT

    text = logging.Formatter(FORMAT).format(line)
    assert f"[req=req-42 user=ttb instance={task['instance_id']}]" in text
    assert "DanhGia" not in " ".join(r.getMessage() for r in caplog.records)  # no password in any line
    # a made-up id is refused and replaced
    resp = ttb.client.get("/api/v1/tasks", headers=dict(ttb.headers, **{"X-Request-Id": "bad id forged"}))
    assert resp.headers["X-Request-Id"] != "bad id forged" and len(resp.headers["X-Request-Id"]) == 12


def test_a_completion_is_nine_statements_and_the_session_holds_what_they_wrote(division):
    """The projection is written in SQL statements, not by the ORM's flush: the answer, built from the
    session's objects, says what the database now holds, and nothing is read again."""
    from sqlalchemy import event

    self_evaluate(division, "lvc")  # the first completion of the unit fills the caches (who holds a role)
    ttb = Api(division, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    before = db.session.get(ProcessInstance, task["instance_id"]).lock_version
    notices = db.session.scalar(select(func.count()).select_from(Notification))
    sent: list[str] = []

    def count(conn, cursor, statement, *args):
        sent.append(" ".join(statement.split())[:100])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        resp = ttb.post(f"/tasks/{task['id']}/complete", json={"data": dict(scores_for(85), comment="x")})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert resp.status_code == 200, resp.get_json()
    answer = resp.get_json()["instance"]
    # token, lock with the tasks, plan items; instance, task done, task opened, record, notification, audit
    assert len(sent) <= 9, sent
    assert [text.split()[0] for text in sent].count("SELECT") == 3, sent
    db.session.expire_all()
    stored = db.session.get(ProcessInstance, task["instance_id"])
    assert stored.lock_version == before + 1
    assert (answer["status"], answer["step"], answer["record_status"]) == (stored.status, stored.step, "review")
    [opened] = answer["active_tasks"]
    row = db.session.get(HumanTask, opened["id"])
    assert (row.status, row.step, row.instance_id) == ("ready", "review", stored.id)
    done = db.session.get(HumanTask, task["id"])
    assert (done.status, done.completed_by_id, done.on_behalf_of_id) == ("completed", user("ttb").id, None)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == notices + 1
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.instance_id == stored.id).order_by(AuditEvent.id.desc()).limit(2)
    ).all()
    assert actions == ["task_assigned", "task_completed"]
    assert record("ttb").self_total == 85


def test_expanded_forms_are_shared_and_no_page_or_submit_changes_them(division):
    """Expanded schemas are kept per version, form and the context values they read, and handed out to
    every page and submit: none of them may change one (a renderer or validator writing into the
    shared schema would show the next person someone else's form)."""
    import copy

    from app.services.evaluation import tasks

    client = division
    task = ready_task("ttb", "self_evaluation")
    login(client, "ttb")
    href = f"/tasks/{task.id}"
    page = client.get(href).get_data(as_text=True)
    assert tasks._expanded, "the page expanded its form through the kept expansions"
    kept = {key: copy.deepcopy(schema) for key, schema in tasks._expanded.items()}
    # a refused submit renders the form again with its errors; then the real one
    refused = client.post(href, data=dict(score_fields(85), **{"scores[I.1]": "99"}, csrf_token=csrf_token(page)))
    assert refused.status_code == 422 and "scores[I.1]" in refused.get_data(as_text=True)
    ok = client.post(href, data=dict(score_fields(85), comment="x", csrf_token=csrf_token(page)))
    assert ok.status_code == 302
    db.session.expire_all()
    assert record("ttb").self_total == 85
    for key, schema in kept.items():
        assert tasks._expanded.get(key, schema) == schema, key
