"""Bad input is refused with a clear error and changes nothing (README.md, issue #2)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance

from .conftest import PERIOD
from .support import Api, scores_for


@pytest.fixture()
def opened(client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    return client


def _state():
    """Everything a refused request must leave untouched."""
    instances = [
        (i.id, i.lock_version, i.step, i.snapshot)
        for i in db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id))
    ]
    tasks = [(t.id, t.status) for t in db.session.scalars(select(HumanTask).order_by(HumanTask.id))]
    audits = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action.not_in(["login_failed", "login_succeeded"]))
    )
    db.session.expire_all()
    return instances, tasks, audits


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda f: f["scores"].update({"II.1": 26}), "scores[II.1]"),  # above the maximum
        (lambda f: f["scores"].update({"I.1": 2.3}), "scores[I.1]"),  # not a step of 0.5
        (lambda f: f["scores"].update({"I.2": -1}), "scores[I.2]"),  # below zero
        (lambda f: f["scores"].pop("II.3"), "scores[II.3]"),  # missing criterion
        (lambda f: f["scores"].update({"I.3": "năm"}), "scores[I.3]"),  # wrong type
        (lambda f: f.update({"bonus": 2}), "bonus_reason"),  # bonus without a reason
        (lambda f: f.update({"bonus": 11, "bonus_reason": "x"}), "bonus"),  # bonus above 10
        (lambda f: f.update({"deductions": [{"points": 2}]}), "deductions[0][reason]"),
        (lambda f: f.update({"result": {"level": "A"}}), "result"),  # forging a computed key
    ],
)
def test_invalid_self_evaluation_is_422_and_changes_nothing(opened, mutate, field):
    api = Api(opened, "ttb")
    task = api.task_for("ttb", "self_evaluation")
    before = _state()
    form = scores_for(85)
    mutate(form)
    body = api.complete(task["id"], form, status=422)
    assert body["error"] == "invalid"
    assert field in [d["field"] for d in body["details"]], body["details"]
    assert all(d["message"] and d["message_en"] for d in body["details"])
    assert _state() == before


def test_completing_someone_elses_task_is_403(opened):
    task = Api(opened, "ttb").task_for("ttb", "self_evaluation")
    before = _state()
    body = Api(opened, "lvc").complete(task["id"], scores_for(85), status=403)
    assert body["error"] == "forbidden"
    assert Api(opened, "lvc").get(f"/tasks/{task['id']}").status_code == 403
    assert _state() == before


def test_completing_twice_is_409(opened):
    api = Api(opened, "ttb")
    task = api.task_for("ttb", "self_evaluation")
    api.complete(task["id"], scores_for(85))
    body = api.complete(task["id"], scores_for(70), status=409)
    assert body["error"] == "conflict" and "tải lại" in body["message"]
    row = db.session.get(HumanTask, task["id"])
    assert row.status == "completed"


def test_concurrent_completions_exactly_one_wins(opened, ctx):
    api = Api(opened, "ttb")
    task = api.task_for("ttb", "self_evaluation")
    statuses, barrier = [], threading.Barrier(4)

    def worker(total):
        c = ctx.test_client()
        barrier.wait()
        resp = c.post(f"/api/v1/tasks/{task['id']}/complete", headers=api.headers, json={"data": scores_for(total)})
        statuses.append((resp.status_code, total))

    threads = [threading.Thread(target=worker, args=(t,)) for t in (60, 70, 80, 90)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(s for s, _ in statuses)
    assert codes == [200, 409, 409, 409], statuses
    winner = next(total for s, total in statuses if s == 200)
    db.session.expire_all()
    completions = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task_completed")).all()
    assert len(completions) == 1
    review = db.session.scalars(select(HumanTask).where(HumanTask.step == "review")).all()
    assert len(review) == 1
    from app.models import EvaluationRecord

    record = db.session.scalars(
        select(EvaluationRecord).where(EvaluationRecord.subject_id == review[0].subject_id)
    ).one()
    assert record.self_total == winner


@pytest.mark.parametrize(
    "payload, status, error",
    [
        ({"unit": "KHONG-CO", "period": PERIOD}, 404, "not_found"),
        ({"unit": "SNV", "period": "2030-13"}, 400, "bad_request"),
        ({"unit": "SNV", "period": "03/2030"}, 400, "bad_request"),
        ({"unit": "SNV", "period": None}, 400, "bad_request"),
    ],
)
def test_open_month_bad_unit_or_period(client, payload, status, error):
    resp = Api(client, "nva").post("/cycles", payload)
    assert resp.status_code == status and resp.get_json()["error"] == error
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_open_month_needs_hr_of_that_agency(client):
    resp = Api(client, "ttb").post("/cycles", {"unit": "SNV", "period": PERIOD})
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_api_without_token_or_with_garbage(client):
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "ttb", "password": "sai"}).status_code == 401
    api = Api(client, "ttb")
    assert api.post("/cycles", json=None, data="not json", content_type="application/json").status_code == 400
    assert api.post("/tasks/999999/complete", {"data": {}}).status_code == 404
    assert api.post("/tasks/1/complete", {"nodata": 1}).status_code in (400, 404)
    assert api.get("/instances?period=garbage").status_code == 400
    assert api.get("/reports/monthly?unit=SNV&period=2030-03").status_code == 403


def test_decision_batch_bad_items(opened):
    gd = Api(opened, "gd")
    assert gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": []}).status_code == 400
    assert gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": "x"}]}).status_code == 400
    first = db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).first()
    assert (
        gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": first.id}]}).status_code
        == 409
    )
    assert (
        gd.post("/decisions", {"unit": "NOPE", "period": PERIOD, "items": [{"instance_id": first.id}]}).status_code
        == 404
    )


def test_instance_of_another_person_is_403(opened):
    other = db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).first()
    outsider = Api(opened, "hve")  # SNV-CCVC staff: not the subject, not their manager
    assert outsider.get(f"/instances/{other.id}").status_code == 403
    assert Api(opened, "nva").get(f"/instances/{other.id}").status_code == 200  # HR of the agency
