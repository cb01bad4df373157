"""City scale (issue #4): bulk opening that is idempotent and resumable, several timer workers at
once, and a task completion racing a timer on the same instance.

On PostgreSQL the concurrent cases run in real threads, each with its own app context (own session,
own connection); SQLite has one writer and no row locks, so there they run one after the other."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.engine.runtime import Workflow
from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask, Notification, ProcessInstance, User
from app.services.evaluation import cycles, instances, timers
from app.services.process_design import versions
from app.services.errors import Conflict

from .conftest import PERIOD, user
from .support import Api, scores_for

SNV_PEOPLE = 12  # gd, admin, tptc, tpcc and 8 staff under Sở Nội vụ
AFTER_REMINDER = datetime.fromisoformat("2030-04-03T08:00:00+07:00")  # WD3 - 1 has ended: reminders due
AFTER_DEADLINE = datetime.fromisoformat("2030-04-04T08:00:00+07:00")  # WD3 has ended: self-evaluation closes


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _assert_everyone_once(period: str = PERIOD, people: int = SNV_PEOPLE) -> None:
    db.session.expire_all()
    per_subject = db.session.execute(
        select(ProcessInstance.subject_id, func.count())
        .where(ProcessInstance.period == period)
        .group_by(ProcessInstance.subject_id)
    ).all()
    assert len(per_subject) == people and {n for _, n in per_subject} == {1}
    ids = select(ProcessInstance.id).where(ProcessInstance.period == period)
    assert _count(EvaluationRecord, EvaluationRecord.period == period) == people
    assert _count(HumanTask, HumanTask.period == period, HumanTask.status == "ready") == people
    assert _count(AuditEvent, AuditEvent.action == "instance_started", AuditEvent.instance_id.in_(ids)) == people
    assert _count(Notification, Notification.kind == "assigned", Notification.instance_id.in_(ids)) == people


class Interrupted(Exception):
    pass


def test_bulk_opening_resumes_after_an_interruption_and_starts_late_joiners(ctx, client):
    seen = []

    def stop_after_first_chunk(progress):
        seen.append(progress.as_dict())
        raise Interrupted

    with pytest.raises(Interrupted):
        cycles.open_month("SNV", PERIOD, include_subunits=True, chunk_size=5, on_chunk=stop_after_first_chunk)
    db.session.rollback()
    assert seen == [
        {"total": SNV_PEOPLE, "done": 5, "started": 5, "skipped": 0, "after": seen[0]["after"], "finished": False}
    ]
    assert _count(ProcessInstance, ProcessInstance.period == PERIOD) == 5  # the first chunk, committed

    chunks = []
    again = cycles.open_month("SNV", PERIOD, include_subunits=True, chunk_size=5, on_chunk=chunks.append)
    assert (again["started"], again["skipped"]) == (SNV_PEOPLE - 5, 5)
    assert len(chunks) == 3 and chunks[-1].finished and chunks[-1].done == SNV_PEOPLE
    _assert_everyone_once()

    # a late joiner: opening again starts only them
    db.session.add(
        User(
            username="moi",
            full_name="Người Mới Vào",
            password_hash="x",
            position_group="staff",
            unit_id=user("ttb").unit_id,
            manager_id=user("tptc").id,
        )
    )
    db.session.commit()
    late = ctx.test_cli_runner().invoke(
        args=["open-month", "--unit", "SNV", "--period", PERIOD, "--include-subunits", "--chunk-size", "4"]
    )
    assert late.exit_code == 0 and "started=1 skipped=12" in late.output
    _assert_everyone_once(people=SNV_PEOPLE + 1)
    task = db.session.scalars(select(HumanTask).where(HumanTask.subject_id == user("moi").id)).one()
    assert task.step == "self_evaluation" and task.assignee_id == user("moi").id

    # the API and a single start agree: nothing more to start
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV", "period": PERIOD, "include_subunits": True}).get_json() == {
        "started": 0,
        "skipped": SNV_PEOPLE + 1,
    }
    with pytest.raises(Conflict):
        instances.start(versions.latest_published(), user("ttb"), PERIOD)


def test_the_page_opens_chunk_by_chunk_and_resumes(ctx, client):
    from .conftest import csrf_token

    client.post(
        "/login",
        data={
            "username": "nva",
            "password": "DanhGia@2026",
            "csrf_token": csrf_token(client.get("/login").get_data(as_text=True)),
        },
    )
    page = client.get("/months/open").get_data(as_text=True)
    assert 'id="open-progress"' in page and "open_month.js" in page
    headers = {"X-CSRFToken": csrf_token(page)}
    body = {"unit": "SNV", "period": PERIOD, "include_subunits": True, "after": 0}
    first = client.post("/months/open/step", json=body, headers=headers).get_json()
    assert first["total"] == SNV_PEOPLE and first["started"] == SNV_PEOPLE and first["finished"]
    _assert_everyone_once()
    # the tab was closed and HR opens again from the start: nobody twice
    again = client.post("/months/open/step", json=body, headers=headers).get_json()
    assert (again["started"], again["skipped"], again["finished"]) == (0, SNV_PEOPLE, True)
    assert _count(AuditEvent, AuditEvent.action == "month_opened") == 2
    # another agency's unit is refused, as a JSON error
    refused = client.post("/months/open/step", json=dict(body, unit="UBTP"), headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    bad = client.post("/months/open/step", json=dict(body, period="2030/04"), headers=headers)
    assert bad.status_code == 400 and "YYYY-MM" in bad.get_json()["message"]


def test_two_openers_at_once_start_everyone_once(ctx):
    app = ctx
    results, errors = [], []
    barrier = threading.Barrier(2)

    def opener():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(cycles.open_month("SNV", PERIOD, include_subunits=True, chunk_size=3))
            except Exception as exc:  # reported below
                errors.append(exc)

    if _postgres():
        threads = [threading.Thread(target=opener) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        barrier = threading.Barrier(1)
        opener()
        opener()
    assert not errors, errors
    assert sum(r["started"] for r in results) == SNV_PEOPLE
    assert all(r["started"] + r["skipped"] == SNV_PEOPLE for r in results)
    _assert_everyone_once()


def _run_workers(app, now, n=2) -> list[int]:
    """`n` timer workers on the same due instances: threads on PostgreSQL, one by one on SQLite."""
    fired, errors = [], []
    barrier = threading.Barrier(n if _postgres() else 1)

    def worker():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                fired.append(timers.run_due(now))
            except Exception as exc:  # reported below
                errors.append(exc)

    if _postgres():
        threads = [threading.Thread(target=worker) for _ in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    else:
        for _ in range(n):
            worker()
    assert not errors, errors
    return fired


def test_two_workers_fire_each_timer_once(ctx):
    cycles.open_month("SNV", PERIOD, include_subunits=True)
    fired = _run_workers(ctx, AFTER_REMINDER)
    assert sum(fired) == SNV_PEOPLE
    db.session.expire_all()
    per_instance = dict(
        db.session.execute(
            select(AuditEvent.instance_id, func.count())
            .where(AuditEvent.action == "timer_fired")
            .group_by(AuditEvent.instance_id)
        ).all()
    )
    assert len(per_instance) == SNV_PEOPLE and set(per_instance.values()) == {1}
    reminders = dict(
        db.session.execute(
            select(Notification.user_id, func.count())
            .where(Notification.kind == "reminder")
            .group_by(Notification.user_id)
        ).all()
    )
    assert len(reminders) == SNV_PEOPLE and set(reminders.values()) == {1}
    assert {i.step for i in db.session.scalars(select(ProcessInstance))} == {"self_evaluation"}
    # the deadline: every self-evaluation closes once and the review opens once
    fired = _run_workers(ctx, AFTER_DEADLINE)
    assert sum(fired) == SNV_PEOPLE
    db.session.expire_all()
    assert _count(AuditEvent, AuditEvent.action == "timer_fired") == 2 * SNV_PEOPLE
    assert _count(HumanTask, HumanTask.step == "self_evaluation", HumanTask.status == "cancelled") == SNV_PEOPLE
    assert _count(HumanTask, HumanTask.status == "ready") == SNV_PEOPLE
    assert _count(AuditEvent, AuditEvent.action == "task_closed") == SNV_PEOPLE
    assert all(r.self_evaluation_missed for r in db.session.scalars(select(EvaluationRecord)))
    assert _run_workers(ctx, AFTER_DEADLINE) == [0, 0]


def _one_instance(ctx, username="ttb"):
    instance = instances.start(versions.latest_published(), user(username), PERIOD)
    db.session.commit()
    return instance.id


def _hold(monkeypatch, method: str, started: threading.Event, seconds: float = 0.5):
    """Make Workflow.<method> signal `started` and wait a little before it runs, while its caller
    holds the instance's row lock."""
    original = getattr(Workflow, method)

    def held(self, *args, **kwargs):
        started.set()
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Workflow, method, held)


def _events(instance_id, action) -> int:
    return _count(AuditEvent, AuditEvent.instance_id == instance_id, AuditEvent.action == action)


def test_a_timer_that_wins_the_race_closes_the_task_and_the_completion_gets_409(ctx, client, monkeypatch):
    iid = _one_instance(ctx)
    ttb = Api(client, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    if _postgres():
        holding = threading.Event()
        _hold(monkeypatch, "run_timers", holding)
        worker = threading.Thread(target=_timer_once, args=(ctx, AFTER_DEADLINE))
        worker.start()
        assert holding.wait(10)  # the worker holds the row lock now
        response = ttb.post(f"/tasks/{task['id']}/complete", {"data": scores_for(85)})  # waits for it
        worker.join(timeout=30)
    else:
        assert timers.run_due(AFTER_DEADLINE) == 1
        response = ttb.post(f"/tasks/{task['id']}/complete", {"data": scores_for(85)})
    assert response.status_code == 409 and response.get_json()["error"] == "conflict"
    db.session.expire_all()
    record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.instance_id == iid)).one()
    assert record.self_evaluation_missed and record.self_total is None and record.status == "review"
    assert _events(iid, "timer_fired") == 1 and _events(iid, "task_completed") == 0
    steps = {t.step: t.status for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == iid))}
    assert steps == {"self_evaluation": "cancelled", "review": "ready"}


def _timer_once(app, now) -> None:
    with app.app_context():
        timers.run_due(now)


def test_a_completion_that_wins_the_race_is_kept_and_the_timer_sees_the_new_state(ctx, client, monkeypatch):
    iid = _one_instance(ctx)
    ttb = Api(client, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    responses = []
    if _postgres():
        holding = threading.Event()
        _hold(monkeypatch, "complete", holding)
        completion = threading.Thread(
            target=lambda: responses.append(ttb.post(f"/tasks/{task['id']}/complete", {"data": scores_for(85)}))
        )
        completion.start()
        assert holding.wait(10)  # the completion holds the row lock now
        assert timers.run_due(AFTER_DEADLINE) == 0  # the worker skips the locked instance
        completion.join(timeout=30)
    else:
        responses.append(ttb.post(f"/tasks/{task['id']}/complete", {"data": scores_for(85)}))
    assert responses[0].status_code == 200, responses[0].get_json()
    assert timers.run_due(AFTER_DEADLINE) == 0  # the deadline left with the completed task
    db.session.expire_all()
    record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.instance_id == iid)).one()
    assert record.self_total == 85 and not record.self_evaluation_missed and record.status == "review"
    assert _events(iid, "task_completed") == 1 and _events(iid, "timer_fired") == 0
    steps = {t.step: t.status for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == iid))}
    assert steps == {"self_evaluation": "completed", "review": "ready"}
    instance = db.session.get(ProcessInstance, iid)
    assert instance.next_timer_at > AFTER_DEADLINE  # the review's reminder, not the old deadline
