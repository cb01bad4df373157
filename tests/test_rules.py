"""The regulation, rule by rule, at its boundaries (docs/regulation.md, issue #3). Each case asserts
the stored result and, where a person acts, the audit row."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Appointment, AuditEvent, Delegation, EvaluationRecord, HumanTask, Unit
from app.rules import levels
from app.services.evaluation import absence, cycles, timers
from app.services.organisation import membership
from app.services.regulation import calendar, schemes
from app.services.errors import Invalid

from .conftest import PERIOD, later, user
from .support import ND335, Api, review_step, scores_for

TCCB = ["nva", "ttb", "lvc", "ptd"]  # staff of SNV-TCCB; tptc heads it


def record(username, period=PERIOD):
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == period
        )
    ).one()


def ready(username, step):
    return db.session.scalars(
        select(HumanTask).where(
            HumanTask.subject_id == user(username).id, HumanTask.step == step, HumanTask.status == "ready"
        )
    ).one()


def run_to_decision(client, totals: dict, review_extra: dict | None = None, table=None):
    """Open SNV-TCCB and drive everyone to the decision step with the given review totals."""
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    for name in totals:
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80, name == "tptc", table))
    for name, total in totals.items():
        reviewer = Api(client, "gd" if name == "tptc" else "tptc")
        form = dict(scores_for(total, name == "tptc", table), days_worked=21)
        form.update((review_extra or {}).get(name, {}))
        reviewer.complete(reviewer.task_for(name, review_step(name))["id"], form)


# --- levels at every boundary --------------------------------------------------------------


@pytest.mark.parametrize(
    "total, level", [(100, "A"), (90, "A"), (89.5, "B"), (70, "B"), (69.5, "C"), (50, "C"), (49.5, "D"), (0, "D")]
)
def test_level_thresholds_through_the_process(client, total, level):
    run_to_decision(client, {"ttb": total})
    assert record("ttb").total == total and record("ttb").level == level


@pytest.mark.parametrize(
    "days_worked, working_days, total, expected",
    [
        (11, 22, 95, "C"),  # exactly 50 %: at most C
        (11.5, 22, 95, "A"),  # just over half: no cap
        (0, 22, 60, "C"),  # already C: unchanged
        (5, 22, 40, "D"),  # below C stays D
    ],
)
def test_attendance_rule(days_worked, working_days, total, expected):
    result = levels.apply_level_rules(levels.level_for_total(total), total, {"days_worked": days_worked}, working_days)
    assert result["level"] == expected


def test_discipline_with_95_points_is_d_and_recorded(client):
    run_to_decision(client, {"ttb": 95}, {"ttb": {"discipline": True}})
    rec = record("ttb")
    assert rec.total == 95 and rec.level == "D"
    assert [r["rule"] for r in rec.rules_applied] == ["score", "discipline"]


def test_objective_cause_lets_the_decider_keep_the_deserved_level(client):
    run_to_decision(client, {"lvc": 95}, {"lvc": {"days_worked": 8, "objective_cause": "Điều trị tai nạn lao động"}})
    assert record("lvc").level == "C"
    gd = Api(client, "gd")
    item = {"instance_id": record("lvc").instance_id, "level": "A", "reason": "Nghỉ do tai nạn lao động"}
    refused = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [item]})
    assert refused.status_code == 422 and record("lvc").published_at is None
    task = ready("lvc", "decision")
    gd.complete(task.id, {"level": "A", "reason": "Nghỉ do tai nạn lao động", "objective_cause_confirmed": True})
    rec = record("lvc")
    assert rec.level == "A" and rec.rules_applied[-1]["rule"] == "objective_cause_confirmed"


# --- quota ---------------------------------------------------------------------------------


@pytest.mark.parametrize("evaluated, share_cap", [(10, 3), (5, 1), (3, 0), (20, 6), (7, 2)])
def test_quota_cap_is_the_floor_of_30_percent(evaluated, share_cap):
    quota = {"rule": "share_of_evaluated", "share": 0.3, "exceptional_share": 0.4}
    assert levels.quota_cap(quota, evaluated, 0) == share_cap
    assert levels.quota_cap(quota, 10, 0, exceptional=True) == 4


def test_quota_exactly_at_cap_passes_and_one_over_is_blocked(client):
    # SNV-TCCB: 5 people; A's decided so far count too. Cap is 1 (30 % of 5).
    run_to_decision(client, {"nva": 95, "ttb": 92, "lvc": 80, "ptd": 75, "tptc": 85})
    gd = Api(client, "gd")
    items = [{"instance_id": record(n).instance_id} for n in ("nva", "ttb", "lvc", "ptd", "tptc")]
    over = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items})
    assert over.status_code == 422 and over.get_json()["details"][0] == {
        "field": "items",
        "count": 2,
        "cap": 1,
        "message": "2 > 1",
        "message_en": "2 > 1",
    }
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "published")) == 0
    exceptional = gd.post(
        "/decisions",
        {"unit": "SNV", "period": PERIOD, "items": items, "exceptional_reason": "Hoàn thành xuất sắc đợt cao điểm"},
    )
    assert exceptional.status_code == 200 and exceptional.get_json()["quota"]["cap"] == 2
    batch = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "batch_decided")).one()
    assert batch.details["exceptional_reason"] == "Hoàn thành xuất sắc đợt cao điểm"


def test_decree_335_quota_is_20_percent_of_b(client, ctx):
    schemes.ensure_seeded()
    schemes.assign(
        db.session.scalars(select(Unit).where(Unit.code == "SNV")).one(), "nd335-2025", "2026-01", user("admin")
    )
    run_to_decision(client, {"nva": 95, "ttb": 80, "lvc": 80, "ptd": 80, "tptc": 80}, table=ND335)
    assert record("nva").scheme == "nd335-2025"
    gd = Api(client, "gd")
    four_b = [{"instance_id": record(n).instance_id} for n in ("nva", "ttb", "lvc", "ptd", "tptc")]
    blocked = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": four_b})
    assert blocked.status_code == 422 and blocked.get_json()["details"][0]["cap"] == 0  # 20 % of 4 B = 0
    assert "loại B" in blocked.get_json()["message"]
    lowered = [
        dict(i, level="B", reason="Tỷ lệ theo Nghị định 335") if i["instance_id"] == record("nva").instance_id else i
        for i in four_b
    ]
    assert gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": lowered}).status_code == 200
    assert record("nva").level == "B"


# --- calendar ------------------------------------------------------------------------------


def test_calendar_tet_month_and_make_up_saturday(ctx):
    cal = calendar.current()
    assert cal.working_days_in_month(2026, 2) == 15  # Tết Nguyên đán 16–20/02/2026
    assert cal.nth_working_day(date(2026, 9, 1), 3) == date(2026, 9, 7)  # 1–2/9 holidays
    calendar.add_day("2026-09-05", "work", "Làm bù cho ngày 31/8", user("admin"))
    assert calendar.current().nth_working_day(date(2026, 9, 1), 3) == date(2026, 9, 5)
    calendar.add_day("2026-09-03", "off", "Nghỉ thêm", user("admin"))
    assert calendar.current().nth_working_day(date(2026, 9, 1), 3) == date(2026, 9, 7)
    with pytest.raises(Invalid):
        calendar.add_day("2026-09-03", "off", "trùng", user("admin"))
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "calendar_day_added"))
        == 2
    )


def test_deadlines_follow_the_configured_calendar(ctx):
    calendar.add_day("2030-04-01", "off", "Nghỉ thêm", user("admin"))  # WD1 of April 2030 becomes a day off
    cycles.open_month("SNV-TCCB", PERIOD)
    due = ready("ttb", "self_evaluation").due_at
    assert due == datetime(2030, 4, 4, 16, 59, 59, tzinfo=timezone.utc)  # WD3 moves to Thursday 4 April


# --- deadlines and escalation --------------------------------------------------------------


def test_overdue_review_goes_to_the_decider(client):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    Api(client, "ttb").complete(Api(client, "ttb").task_for("ttb", "self_evaluation")["id"], scores_for(80))
    fired = timers.run_due(datetime.fromisoformat("2030-04-08T08:00:00+07:00"))  # after WD5 (5 April)
    assert fired >= 1
    task = ready("ttb", "review_by_decider")
    assert task.assignee.username == "gd" and task.lane_role == "decider"
    assert (
        db.session.scalars(select(HumanTask).where(HumanTask.subject_id == user("ttb").id, HumanTask.step == "review"))
        .one()
        .status
        == "cancelled"
    )
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer_fired")) >= 1
    )


def test_overdue_decision_is_flagged_never_decided(client):
    run_to_decision(client, {"ttb": 80})
    long_after = datetime(2030, 6, 1, tzinfo=timezone.utc)
    timers.run_due(long_after)
    task = ready("ttb", "decision")
    assert task.due_at < long_after and task.assignee.username == "gd"
    assert record("ttb").published_at is None and record("ttb").status == "decision"


def test_appeal_window_closes_and_locks(client):
    run_to_decision(client, {"ttb": 80})
    Api(client, "gd").complete(ready("ttb", "decision").id, {})
    assert record("ttb").status == "published"
    assert timers.run_due(later(1)) == 0 or record("ttb").status == "published"
    timers.run_due(later(30))
    assert record("ttb").status == "locked"
    resp = Api(client, "ttb").post(
        f"/instances/{record('ttb').instance_id}/appeal", {"reason": "Quá hạn mà vẫn kiến nghị"}
    )
    assert resp.status_code == 409


# --- authority -----------------------------------------------------------------------------


def test_nobody_reviews_or_decides_their_own_record(client, ctx):
    # tptc delegates to ttb for the month: ttb must still not review or see their own review
    db.session.add(
        Delegation(
            principal_id=user("tptc").id,
            deputy_id=user("ttb").id,
            start=date.today() - timedelta(days=1),
            end=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb = Api(client, "ttb")
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], scores_for(80))
    own_review = ready("ttb", "review")
    assert own_review.assignee.username == "tptc"
    assert own_review.id not in [t["id"] for t in ttb.tasks()]
    body = ttb.complete(own_review.id, dict(scores_for(100), days_worked=21), status=403)
    assert "chính mình" in body["message"]
    # the head's own review and decision go up to the city leadership
    gd_tasks = [
        (t.step, t.assignee.username)
        for t in db.session.scalars(select(HumanTask).where(HumanTask.subject_id == user("tptc").id))
    ]
    assert gd_tasks == [("self_evaluation", "tptc")]


def test_division_leader_whose_manager_is_the_head_goes_straight_to_the_head(client, ctx):
    """tptc's direct manager is gd, the head who decides: no review step by a "manager", no WD5 review
    deadline to escalate from; gd scores with the decision's deadline, then decides in the batch."""
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    for name in ("tptc", "ttb"):
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80, name == "tptc"))
    head_step = ready("tptc", "review_by_decider")
    assert head_step.assignee.username == "gd" and head_step.lane_role == "decider"
    assert head_step.due_at == datetime(2030, 4, 10, 16, 59, 59, tzinfo=timezone.utc)  # WD8, the decision's
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.subject_id == user("tptc").id, HumanTask.step == "review")
        )
        == 0
    )
    assigned = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "task_assigned", AuditEvent.step == "review_by_decider")
    ).one()
    assert assigned.details["assignee"] == "gd" and assigned.instance_id == record("tptc").instance_id
    assert ready("ttb", "review").assignee.username == "tptc"  # staff keep their manager's review
    # the WD5 review deadline passes: nothing escalates for tptc, who is with the head already
    timers.run_due(datetime.fromisoformat("2030-04-08T08:00:00+07:00"))
    assert ready("tptc", "review_by_decider").id == head_step.id
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "escalated", AuditEvent.instance_id == record("tptc").instance_id)
    ).all()
    gd = Api(client, "gd")
    gd.complete(head_step.id, dict(scores_for(91, True), days_worked=21, comment="Thủ trưởng chấm"))
    assert record("tptc").total == 91 and record("tptc").level == "A"
    assert ready("tptc", "decision").assignee.username == "gd"


def test_the_route_follows_the_org_chart_when_the_step_is_reached(client, ctx):
    """Opened while gd manages tptc; tptc gets a deputy director (not the head) as manager before the
    self-evaluation is done: the review is the deputy's, as the org chart says on that day."""
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    user("tptc").manager = user("tpcc")
    db.session.commit()
    api = Api(client, "tptc")
    api.complete(api.task_for("tptc", "self_evaluation")["id"], scores_for(80, True))
    assert ready("tptc", "review").assignee.username == "tpcc"


def test_the_agency_head_goes_straight_to_the_superior_decider(client, ctx):
    cycles.open_month("SNV-VP", PERIOD)
    gd = Api(client, "gd")
    gd.complete(gd.task_for("gd", "self_evaluation")["id"], scores_for(85, True))
    assert ready("gd", "review_by_decider").assignee.username == "chutich"


def test_delegation_acts_on_behalf_and_is_audited(client, ctx):
    run_to_decision(client, {"ttb": 80})
    tpcc = Api(client, "tpcc")
    assert tpcc.tasks("decision") == []
    db.session.add(
        Delegation(
            principal_id=user("gd").id,
            deputy_id=user("tpcc").id,
            reason="Đi công tác",
            start=date.today(),
            end=date.today() + timedelta(days=3),
        )
    )
    db.session.commit()
    [task] = tpcc.tasks("decision")
    assert task["on_behalf_of"] == "gd"
    assert (
        tpcc.post(
            "/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": task["instance_id"]}]}
        ).status_code
        == 200
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "task_completed", AuditEvent.step == "decision")
    ).one()
    assert event.actor.username == "tpcc" and event.on_behalf_of.username == "gd"
    expired = Delegation(
        principal_id=user("gd").id,
        deputy_id=user("hve").id,
        start=date.today() - timedelta(days=10),
        end=date.today() - timedelta(days=1),
    )
    db.session.add(expired)
    db.session.commit()
    assert Api(client, "hve").tasks("decision") == []


def test_acting_head_decides_for_the_dates_of_the_appointment(ctx):
    snv = db.session.scalars(select(Unit).where(Unit.code == "SNV")).one()
    db.session.add(
        Appointment(
            unit_id=snv.id,
            user_id=user("tpcc").id,
            kind="acting",
            start=date.today() - timedelta(days=1),
            end=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    cycles.open_month("SNV-VP", PERIOD)  # gd, admin
    assert ready("gd", "self_evaluation").assignee.username == "gd"
    from app.services.organisation import authority

    assert authority.decider_for(user("ttb")).username == "tpcc"
    assert authority.decider_for(user("ttb"), on=date.today() + timedelta(days=60)).username == "gd"
    assert authority.decider_for(user("tpcc")).username == "chutich"  # the acting head goes one level up


def test_cached_heads_and_calendar_follow_changes(ctx, monkeypatch):
    """Completions read the heads and the calendar from a per-process cache: an ORM change drops it at
    once; a change behind the ORM's back (plain SQL, another process) shows when the entry expires."""
    from sqlalchemy import delete

    from app.services.organisation import authority

    assert authority.decider_for(user("ttb")).username == "gd"  # now cached
    assert date(2030, 4, 1) not in calendar.current().days_off
    calendar.add_day("2030-04-01", "off", "Nghỉ thêm", user("admin"))
    assert date(2030, 4, 1) in calendar.current().days_off
    snv = db.session.scalars(select(Unit).where(Unit.code == "SNV")).one()
    db.session.add(
        Appointment(
            unit_id=snv.id,
            user_id=user("tpcc").id,
            kind="acting",
            start=date.today() - timedelta(days=1),
            end=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    assert authority.decider_for(user("ttb")).username == "tpcc"
    db.session.execute(delete(Appointment))
    db.session.commit()
    assert authority.decider_for(user("ttb")).username == "tpcc"  # not seen yet...
    monkeypatch.setattr(authority._head_chains, "ttl", 0)
    assert authority.decider_for(user("ttb")).username == "gd"  # ...until it expires


@pytest.mark.parametrize("moved_on_day, evaluating_unit, reviewer", [(20, "SNV-CCVC", "tpcc"), (5, "SNV-TCCB", "tptc")])
def test_transfer_mid_month_is_evaluated_where_most_worked(ctx, client, moved_on_day, evaluating_unit, reviewer):
    tccb = db.session.scalars(select(Unit).where(Unit.code == "SNV-TCCB")).one()
    hve = user("hve")
    membership.transfer(hve, tccb.id, date(2030, 3, moved_on_day))
    hve.manager = user("tptc")
    db.session.commit()
    started = cycles.open_month("SNV", PERIOD, include_subunits=True)
    assert started["started"] == 12
    rec = record("hve")
    assert rec.unit.code == evaluating_unit
    hve_api = Api(client, "hve")
    hve_api.complete(hve_api.task_for("hve", "self_evaluation")["id"], scores_for(80))
    assert ready("hve", "review").assignee.username == reviewer
    # history follows the person: a second month in the new unit, both records under hve
    cycles.open_month("SNV-TCCB", "2030-04")
    assert (
        db.session.scalar(
            select(func.count()).select_from(EvaluationRecord).where(EvaluationRecord.subject_id == hve.id)
        )
        == 2
    )


def test_not_evaluated_month_is_left_out(client, ctx):
    run_to_decision(
        client,
        {"nva": 95, "ttb": 92, "tptc": 85, "ptd": 80},
    )
    lvc = record("lvc")
    with pytest.raises(Exception):
        absence.mark_not_evaluated(lvc.instance_id, user("ttb"), "Không phải lãnh đạo")
    resp = Api(client, "tptc").post(f"/instances/{lvc.instance_id}/not-evaluated", {"reason": "Nghỉ thai sản cả tháng"})
    assert resp.status_code == 200
    lvc = record("lvc")
    assert lvc.status == "not_evaluated" and lvc.not_evaluated_reason == "Nghỉ thai sản cả tháng"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.subject_id == user("lvc").id, HumanTask.status == "ready")
        )
        == 0
    )
    from app.services.evaluation import decisions

    quota = decisions.quota_status(lvc.agency_id, PERIOD, {}, False)
    assert quota["evaluated"] == 4
    again = Api(client, "tptc").post(
        f"/instances/{record('nva').instance_id}/not-evaluated", {"reason": "Quá muộn rồi"}
    )
    assert again.status_code == 409
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "not_evaluated")).one().actor.username
        == "tptc"
    )


def test_editing_a_scheme_never_changes_an_open_month(client, ctx):
    cycles.open_month("SNV-TCCB", PERIOD)
    staff = schemes.latest("hanoi-monthly").definition["criteria"]["staff"]
    edited = [dict(c) for c in staff]
    edited[4]["max"], edited[5]["max"] = 30, 20
    with pytest.raises(Invalid):
        schemes.edit("hanoi-monthly", {"staff": [dict(edited[0], max=7)] + edited[1:]}, "2030-04", user("admin"))
    new = schemes.edit("hanoi-monthly", {"staff": edited}, "2030-04", user("admin"))
    assert new.version == 2
    ttb = Api(client, "ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    assert (
        ttb.get(f"/tasks/{task['id']}").get_json()["schema"]["properties"]["scores"]["properties"]["II.1"]["maximum"]
        == 25
    )
    cycles.open_month("SNV-TCCB", "2030-04")
    april = [t for t in ttb.tasks("self_evaluation") if t["period"] == "2030-04"][0]
    assert (
        ttb.get(f"/tasks/{april['id']}").get_json()["schema"]["properties"]["scores"]["properties"]["II.1"]["maximum"]
        == 30
    )
    assert record("ttb", "2030-04").scheme_id == new.id and record("ttb").scheme_id != new.id
