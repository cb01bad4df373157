"""HR operations (issue #5): reassign a task, extend a deadline (projection and engine timers),
suspend / resume / terminate, retry after an engine error, resend a notification — each with its audit
row and its refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.engine import helpers
from app.engine.runtime import EngineError, Workflow
from app.extensions import db
from app.models import AuditEvent, HumanTask, Notification, ProcessInstance
from app.services.evaluation import instances, operations, timers
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.transaction import committed

from .conftest import PERIOD, csrf_token, user
from .monitor_seed import instance_id, open_month, ready_task, record, review, self_evaluate
from .support import Api
from .test_pages import login

OLD_SELF_DUE = datetime.fromisoformat("2030-04-03T23:59:59+07:00")
REASON = "Theo đề nghị của phòng Tổ chức cán bộ"


def audit_rows(username: str, action: str) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance_id(username), AuditEvent.action == action)
        .order_by(AuditEvent.id)
    ).all()


def notes(username: str, kind: str) -> list[Notification]:
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user(username).id, Notification.kind == kind)
    ).all()


@pytest.fixture()
def division(client):
    """SNV-TCCB opened for PERIOD: tptc, nva, ttb, lvc, ptd at their self-evaluation."""
    open_month(client, "SNV-TCCB")
    db.session.expire_all()
    return client


# --------------------------------------------------------------------------------------- reassign
def test_reassign_a_review(division):
    client = division
    self_evaluate(client, "ptd")
    task = ready_task("ptd", "review")
    assert task.assignee.username == "tptc"
    api = Api(client, "nva")
    resp = api.post(f"/human-tasks/{task.id}/reassign", {"assignee": "tpcc", "reason": REASON})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert ready_task("ptd", "review").assignee.username == "tpcc"
    [row] = audit_rows("ptd", "task_reassigned")
    assert row.actor.username == "nva" and row.step == "review"
    assert row.details == {"task": task.id, "before": "tptc", "after": "tpcc", "assignee": "tpcc", "reason": REASON}
    assert len(notes("tpcc", "assigned")) == 1 and len(notes("tptc", "reassigned")) == 1
    # the new holder sees it and completes it; the old one no longer can
    tpcc = Api(client, "tpcc")
    assert tpcc.task_for("ptd", "review")["id"] == task.id
    assert Api(client, "tptc").post(f"/tasks/{task.id}/complete", {"data": {}}).status_code == 403
    review(client, "tpcc", "ptd", 80)
    assert record("ptd").status == "decision"


def test_reassign_refusals(division):
    client = division
    for name in ("ptd", "nva", "lvc"):
        self_evaluate(client, name)
    review(client, "tptc", "lvc", 80)
    nva = user("nva")
    ptd_review = ready_task("ptd", "review").id

    def refused(exc, task_id, username, reason=REASON, actor=nva):
        with pytest.raises(exc) as info:
            operations.reassign(actor, task_id, username, reason)
        db.session.rollback()
        return info.value.message

    assert "tự đánh giá" in refused(Invalid, ready_task("ttb", "self_evaluation").id, "lvc")
    assert "ủy quyền" in refused(Invalid, ready_task("lvc", "decision").id, "tpcc")
    assert "chính mình" in refused(Invalid, ptd_review, "ptd")  # to the evaluated person
    assert refused(Invalid, ptd_review, "tptc")  # already theirs
    assert refused(Invalid, ptd_review, "nobody")  # unknown
    assert refused(Invalid, ptd_review, "tp\x00cc")  # a NUL is no username
    assert refused(Invalid, ptd_review, "tpcc", reason="Lý do\x00 có NUL")  # nor part of a reason
    assert "lý do" in refused(Invalid, ptd_review, "tpcc", reason="  ").lower()
    assert "chính mình" in refused(Forbidden, ready_task("nva", "review").id, "tpcc")  # HR's own evaluation
    assert refused(Forbidden, ptd_review, "tpcc", actor=user("tptc"))  # not HR
    assert refused(
        Conflict,
        db.session.scalars(
            select(HumanTask).where(  # a completed task
                HumanTask.subject_id == user("ptd").id, HumanTask.step == "self_evaluation"
            )
        )
        .one()
        .id,
        "tpcc",
    )
    with pytest.raises(NotFound):
        operations.reassign(nva, 987654, "tpcc", REASON)
    hve = user("hve")
    hve.active = False
    db.session.commit()
    assert "ngừng hoạt động" in refused(Invalid, ptd_review, "hve")
    assert audit_rows("ptd", "task_reassigned") == []
    assert ready_task("ptd", "review").assignee.username == "tptc"


# --------------------------------------------------------------------------------- extend deadline
def test_extend_a_deadline_moves_the_timers(division, ctx):
    cal = helpers.calendar()
    new_day = cal.nth_working_day(date(2030, 4, 4), 3)  # three working days after the old deadline
    task = ready_task("ttb", "self_evaluation")
    assert task.due_at == OLD_SELF_DUE
    instance = db.session.get(ProcessInstance, task.instance_id)
    before = instances.load(instance).ready_tasks()[0].data
    old_review_due = datetime.fromisoformat(before["review_due"])

    api = Api(division, "nva")
    resp = api.post(f"/human-tasks/{task.id}/extend", {"due_date": new_day.isoformat(), "reason": REASON})
    assert resp.status_code == 200, resp.get_json()
    details = resp.get_json()
    new_due = cal.end_of_day(new_day)
    db.session.expire_all()

    # the projection
    task = db.session.get(HumanTask, task.id)
    assert task.due_at == new_due and task.overdue_notified_at is None
    # the engine: the variable, the interrupting deadline timer and the reminder
    instance = db.session.get(ProcessInstance, task.instance_id)
    workflow = instances.load(instance)
    from SpiffWorkflow.util.task import TaskState

    waiting = {t.task_spec.name: t for t in workflow.wf.get_tasks(state=TaskState.WAITING)}
    assert datetime.fromisoformat(waiting["self_evaluation_deadline"].internal_data["event_value"]) == new_due
    reminder = datetime.fromisoformat(waiting["self_evaluation_reminder"].internal_data["event_value"])
    previous = new_day - timedelta(days=1)
    while not cal.is_working_day(previous):
        previous -= timedelta(days=1)
    assert reminder == cal.end_of_day(previous)  # wd_before(new due, 1)
    data = workflow.ready_tasks()[0].data
    assert datetime.fromisoformat(data["self_evaluation_due"]) == new_due
    moved_review_due = datetime.fromisoformat(data["review_due"])
    assert moved_review_due > old_review_due and moved_review_due > new_due  # the manager keeps their days
    assert instance.next_timer_at == reminder
    assert {t["element"] for t in details["timers"]} == {"self_evaluation_deadline", "self_evaluation_reminder"}
    # the audit row
    [row] = audit_rows("ttb", "deadline_extended")
    assert row.actor.username == "nva" and row.step == "self_evaluation"
    assert row.details["before"] == OLD_SELF_DUE.isoformat() and row.details["after"] == new_due.isoformat()
    assert row.details["reason"] == REASON and "review_due" in row.details["variables"]
    assert len(notes("ttb", "extended")) == 1

    # the old deadline passes: nothing closes; the new one passes: the task closes and review opens
    timers.run_due(OLD_SELF_DUE + timedelta(hours=9))
    db.session.expire_all()
    assert ready_task("ttb", "self_evaluation").id == task.id
    assert ready_task("lvc", "review")  # the others moved on
    timers.run_due(new_due + timedelta(hours=1))
    db.session.expire_all()
    assert record("ttb").self_evaluation_missed
    assert ready_task("ttb", "review").due_at == moved_review_due


def test_extend_refusals(division):
    nva = user("nva")
    task = ready_task("ttb", "self_evaluation")

    def refused(exc, new_date, task_id=task.id, actor=nva, reason=REASON):
        with pytest.raises(exc) as info:
            operations.extend_deadline(actor, task_id, new_date, reason)
        db.session.rollback()
        return info.value.message

    assert "sau hạn hiện tại" in refused(Invalid, "2030-04-02")
    assert "ngày làm việc" in refused(Invalid, "2030-04-06")  # a Saturday
    assert "YYYY-MM-DD" in refused(Invalid, "next monday")
    assert "60" in refused(Invalid, "2030-12-02")
    assert refused(Forbidden, "2030-04-08", actor=user("tptc"))
    assert refused(Forbidden, "2030-04-08", task_id=ready_task("nva").id)  # HR's own evaluation
    assert refused(Invalid, "2030-04-08", reason="")
    self_evaluate(division, "ttb")
    assert refused(Conflict, "2030-04-08")  # done meanwhile
    assert audit_rows("ttb", "deadline_extended") == []
    api = Api(division, "nva")
    assert api.post(f"/human-tasks/{ready_task('lvc').id}/extend", {"reason": REASON}).status_code == 400
    assert (
        api.post(
            f"/human-tasks/{ready_task('lvc').id}/extend", {"due_date": "2030-02-30", "reason": REASON}
        ).status_code
        == 422
    )


# ------------------------------------------------------------------------ suspend / resume / terminate
def test_suspend_and_resume(division):
    client = division
    ttb = instance_id("ttb")
    api = Api(client, "nva")
    assert api.post(f"/instances/{ttb}/suspend", {"reason": REASON}).status_code == 200
    db.session.expire_all()
    assert db.session.get(ProcessInstance, ttb).status == "suspended"
    [row] = audit_rows("ttb", "instance_suspended")
    assert row.actor.username == "nva" and row.details == {"before": "running", "after": "suspended", "reason": REASON}

    # completions are refused, timers skip it, reminders are not sent
    staff = Api(client, "ttb")
    task = staff.task_for("ttb", "self_evaluation")
    resp = staff.post(f"/tasks/{task['id']}/complete", {"data": {}})
    assert resp.status_code == 409 and "Tạm dừng" in resp.get_json()["message"]
    assert api.post(f"/human-tasks/{task['id']}/remind").status_code == 409
    assert api.post(f"/instances/{ttb}/suspend", {"reason": REASON}).status_code == 409
    timers.run_due(OLD_SELF_DUE + timedelta(hours=9))
    db.session.expire_all()
    assert ready_task("ttb", "self_evaluation")  # still waiting
    assert audit_rows("ttb", "timer_fired") == []
    assert record("lvc").self_evaluation_missed  # the others' deadlines passed

    # the page says so; resume names the deadline that passed meanwhile
    login(client, "nva")
    page = client.get(f"/instances/{ttb}").get_data(as_text=True)
    assert 'id="suspended-banner"' in page and "Cho chạy tiếp" in page
    from app.services.evaluation import operations as ops

    outcome = ops.resume(user("nva"), ttb, REASON, now=OLD_SELF_DUE + timedelta(hours=9))
    assert outcome["overdue_steps"] == ["self_evaluation"]
    db.session.expire_all()
    assert db.session.get(ProcessInstance, ttb).status == "running"
    [row] = audit_rows("ttb", "instance_resumed")
    assert row.details["before"] == "suspended" and row.details["overdue_steps"] == ["self_evaluation"]
    assert api.post(f"/instances/{ttb}/resume", {"reason": REASON}).status_code == 409
    timers.run_due(OLD_SELF_DUE + timedelta(hours=10))
    db.session.expire_all()
    assert record("ttb").self_evaluation_missed and ready_task("ttb", "review")


def test_terminate(division):
    client = division
    api = Api(client, "nva")
    lvc = instance_id("lvc")
    assert api.post(f"/instances/{lvc}/terminate", {"reason": "x"}).status_code == 422
    resp = api.post(f"/instances/{lvc}/terminate", {"reason": "Mở nhầm: đã chuyển công tác từ tháng 2"})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, lvc)
    assert (instance.status, instance.step, instance.next_timer_at) == ("terminated", "terminated", None)
    assert record("lvc").status == "terminated"
    assert db.session.scalars(select(HumanTask.status).where(HumanTask.instance_id == lvc)).all() == ["cancelled"]
    [row] = audit_rows("lvc", "instance_terminated")
    assert row.actor.username == "nva" and row.details["before"] == "running"
    assert len(notes("lvc", "terminated")) == 1
    assert api.post(f"/instances/{lvc}/terminate", {"reason": REASON}).status_code == 409
    assert api.post(f"/instances/{lvc}/suspend", {"reason": REASON}).status_code == 409
    assert usernames(api, status="terminated") == {"lvc"}

    # a published result is never terminated
    self_evaluate(client, "ttb")
    review(client, "tptc", "ttb", 85)
    gd = Api(client, "gd")
    assert (
        gd.post(
            "/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": instance_id("ttb")}]}
        ).status_code
        == 200
    )
    resp = api.post(f"/instances/{instance_id('ttb')}/terminate", {"reason": REASON})
    assert resp.status_code == 409 and "công bố" in resp.get_json()["message"]
    assert audit_rows("ttb", "instance_terminated") == []


def usernames(api, **params) -> set[str]:
    resp = api.get("/evaluations", query_string=dict(period=PERIOD, **params))
    assert resp.status_code == 200
    return {i["username"] for i in resp.get_json()["items"]}


# ------------------------------------------------------------------------------------------- retry
def test_retry_after_an_engine_error(division, monkeypatch):
    client = division
    ttb = instance_id("ttb")
    real = Workflow.run_timers

    def broken(self, now=None):
        raise EngineError("Biểu thức hạn không hợp lệ: wd_after() nhận 'None'", "self_evaluation_deadline")

    monkeypatch.setattr(Workflow, "run_timers", broken)
    timers.run_due(OLD_SELF_DUE + timedelta(hours=9))  # the worker meets the error
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, ttb)
    assert instance.status == "error" and instance.error.startswith("self_evaluation_deadline: ")

    # shown with its element: the page, the diagram, the lists and the dashboard
    login(client, "nva")
    page = client.get(f"/instances/{ttb}").get_data(as_text=True)
    assert 'id="engine-error"' in page and "<code>self_evaluation_deadline</code>" in page
    assert "Chạy lại từ trạng thái đã lưu" in page
    diagram = client.get(f"/instances/{ttb}/diagram.json").get_json()
    assert diagram["error"] == ["self_evaluation_deadline"] and diagram["status"] == "error"
    api = Api(client, "nva")
    assert "ttb" in usernames(api, status="error")
    assert (
        api.get("/dashboard", query_string={"unit": "SNV-TCCB", "period": PERIOD}).get_json()["summary"]["error"] == 5
    )

    # still broken: refused with the element, stays in error, audited
    resp = api.post(f"/instances/{ttb}/retry")
    assert resp.status_code == 409 and "self_evaluation_deadline" in resp.get_json()["message"]
    assert resp.get_json()["details"][0]["element"] == "self_evaluation_deadline"
    db.session.expire_all()
    assert db.session.get(ProcessInstance, ttb).status == "error"
    assert len(audit_rows("ttb", "retry_failed")) == 1

    # fixed: the retry runs the due timers and the instance goes on
    monkeypatch.setattr(Workflow, "run_timers", real)
    with committed():
        operations.retry(user("nva"), ttb, now=OLD_SELF_DUE + timedelta(hours=9))
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, ttb)
    assert instance.status == "running" and instance.error is None
    assert record("ttb").self_evaluation_missed and ready_task("ttb", "review")
    [row] = audit_rows("ttb", "instance_retried")
    assert row.actor.username == "nva" and row.details["error"].startswith("self_evaluation_deadline")
    assert api.post(f"/instances/{ttb}/retry").status_code == 409  # not in error any more
    assert api.post(f"/instances/{instance_id('nva')}/retry").status_code == 403  # HR's own


# ------------------------------------------------------------------------------------------ resend
def test_resend_a_notification(division):
    client = division
    task = ready_task("ttb", "self_evaluation")
    nva = user("nva")
    start = datetime.now().astimezone()
    with committed():
        operations.resend(nva, task.id, now=start)
    [note] = notes("ttb", "reminder")
    assert "Nhắc việc" in note.message and note.instance_id == task.instance_id
    [row] = audit_rows("ttb", "notification_resent")
    assert row.actor.username == "nva" and row.details == {"task": task.id, "assignee": "ttb"}
    with pytest.raises(Conflict) as info:
        operations.resend(nva, task.id)
    assert "10 phút" in info.value.message
    db.session.rollback()
    with committed():
        operations.resend(nva, task.id, now=start + timedelta(minutes=11))
    assert len(notes("ttb", "reminder")) == 2

    # through the page: a button, a flash, and the refusal as a flash
    login(client, "nva")
    page = client.get(f"/instances/{task.instance_id}").get_data(as_text=True)
    assert 'id="operations"' in page and "Gửi lại thông báo" in page
    other = ready_task("lvc", "self_evaluation")
    resp = client.post(f"/operations/tasks/{other.id}/remind", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/instances/{other.instance_id}#waiting")
    assert "Đã gửi lại thông báo" in client.get(resp.headers["Location"]).get_data(as_text=True)
    client.post(f"/operations/tasks/{other.id}/remind", data={"csrf_token": csrf_token(page)})
    assert "chỉ nhắc lại sau" in client.get(f"/instances/{other.instance_id}").get_data(as_text=True)
    assert (
        client.post(f"/operations/tasks/{other.id}/explode", data={"csrf_token": csrf_token(page)}).status_code == 404
    )
    assert client.post("/operations/tasks/999999/remind", data={"csrf_token": csrf_token(page)}).status_code == 404
    assert client.post(f"/operations/tasks/{other.id}/remind", data={}).status_code == 302  # no CSRF token: back
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "notification_resent")
        )
        == 3
    )


def test_staff_see_no_operations(division):
    login(division, "ttb")
    page = division.get(f"/instances/{instance_id('ttb')}").get_data(as_text=True)
    assert 'id="operations"' not in page and "Gửi lại thông báo" not in page
    assert 'id="sheet-link"' in page
    resp = division.post(
        f"/operations/instances/{instance_id('lvc')}/suspend", data={"reason": REASON, "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 403
    assert db.session.get(ProcessInstance, instance_id("lvc")).status == "running"
