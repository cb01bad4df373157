"""A month evaluated against its registered work (issue #14), through the JSON API: the plan before
the period, its approval, work assigned and arising during the month, the self-evaluation and the
review with no typed task-result point, the decider confirming an objective cause; a month without
counted items falls back to typed points; the plan is visible only to those in the record's chain."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask, PlanItem

from .conftest import PERIOD, user
from .support import Api

VN = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP_I = {"I.1": 5, "I.2": 5, "I.3": 5, "I.4": 5}


@pytest.fixture()
def plan_on(ctx):
    ctx.config["WORK_PLAN_PHASE"] = True
    yield ctx
    ctx.config["WORK_PLAN_PHASE"] = False


def record(username):
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == PERIOD
        )
    ).one()


def ready_steps(username):
    return set(
        db.session.scalars(
            select(HumanTask.step).where(HumanTask.subject_id == user(username).id, HumanTask.status == "ready")
        )
    )


def period_ends():
    from app.services.evaluation import timers

    return timers.run_due(datetime(2030, 4, 1, 1, 0, tzinfo=VN))


def test_a_month_with_no_typed_task_result_points(plan_on, client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    assert ready_steps("ttb") == {"work_plan"} and record("ttb").status == "planning"

    # 1. the plan, due WD3 of the period
    ttb, tptc, gd = Api(client, "ttb"), Api(client, "tptc"), Api(client, "gd")
    task = ttb.task_for("ttb", "work_plan")
    assert task["due_at"].startswith("2030-03-05")  # Fri 1, Mon 4, Tue 5 March 2030
    refused = ttb.post(f"/tasks/{task['id']}/complete", json={"data": {"items": [{"title": " ", "weight": 0}]}})
    assert refused.status_code == 422
    assert {d["field"] for d in refused.get_json()["details"]} >= {"items[0][title]", "items[0][weight]"}
    ttb.complete(
        task["id"],
        {
            "items": [
                {"title": "Báo cáo tổng kết quý I", "product": "Báo cáo", "weight": 2, "deadline": "2030-03-10"},
                {"title": "Dự thảo quy chế thi đua", "product": "Dự thảo", "weight": 1, "deadline": "2030-03-20"},
            ]
        },
    )
    assert ready_steps("ttb") == {"plan_approval"} and record("ttb").status == "plan_approval"

    # 2. the manager approves, assigning one more item
    approval = tptc.task_for("ttb", "plan_approval")
    detail = tptc.get(f"/tasks/{approval['id']}").get_json()
    rows = detail["data"]["items"]
    assert [r["title"] for r in rows] == ["Báo cáo tổng kết quý I", "Dự thảo quy chế thi đua"]
    tptc.complete(
        approval["id"],
        {"approve": True, "items": rows + [{"title": "Rà soát hồ sơ cán bộ", "weight": 1, "deadline": "2030-03-25"}]},
    )
    assert record("ttb").status == "in_progress"
    items = db.session.scalars(
        select(PlanItem).where(PlanItem.subject_id == user("ttb").id).order_by(PlanItem.position)
    ).all()
    assert [(i.origin, i.status) for i in items] == [
        ("plan", "accepted"),
        ("plan", "accepted"),
        ("assigned", "accepted"),
    ]

    # 3. during the month: assigned work appears at once, arising work waits for the manager
    resp = tptc.post(f"/plans/ttb/{PERIOD}/items", {"title": "Trả lời đơn thư", "weight": 1})
    assert (
        resp.status_code == 200 and resp.get_json()["origin"] == "assigned" and resp.get_json()["status"] == "accepted"
    )
    resp = ttb.post(f"/plans/ttb/{PERIOD}/items", {"title": "Hỗ trợ hội nghị", "weight": 0.5, "deadline": "2030-03-28"})
    assert resp.get_json()["status"] == "pending" and resp.get_json()["origin"] == "arising"
    assert Api(client, "lvc").post(f"/plans/ttb/{PERIOD}/items", {"title": "Người ngoài"}).status_code in (403, 404)
    assert tptc.post(f"/plans/ttb/{PERIOD}/items", {"title": "x", "weight": 0}).status_code == 400
    listed = ttb.get(f"/plans?period={PERIOD}&person=ttb").get_json()
    assert len(listed) == 1 and len(listed[0]["items"]) == 5 and listed[0]["completion"] == 0
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "plan_item_added")) is not None

    # 4. the period ends: the self-evaluation opens on the next working day, due WD3 as before
    assert period_ends() >= 1
    assert "self_evaluation" in ready_steps("ttb")
    task = ttb.task_for("ttb", "self_evaluation")
    assert task["due_at"].startswith("2030-04-03")
    detail = ttb.get(f"/tasks/{task['id']}").get_json()
    rows = detail["data"]["items"]
    assert len(rows) == 5
    assert "II.1" not in detail["schema"]["properties"]["scores"]["required"]
    done = {
        "Báo cáo tổng kết quý I": "2030-03-09",
        "Dự thảo quy chế thi đua": "2030-03-25",
        "Trả lời đơn thư": "2030-03-15",
        "Hỗ trợ hội nghị": "2030-03-27",
    }
    for row in rows:
        row["done"] = row["title"] in done
        if row["done"]:
            row["completed_on"] = done[row["title"]]
    out = ttb.complete(task["id"], {"scores": GROUP_I, "items": rows, "comment": "Theo kế hoạch"})
    # quantity 4.5/5.5, quality 4.5/5.5, timeliness (2 + 0.75 + 1 + 0.5)/5.5 (one late item: one delay)
    # 20 + 20.45 + 20.45 + 15.45: the total is kept at 0.01, like the computed points (not 76.5)
    assert out["instance"]["result"]["self_total"] == 76.35

    # 5. the review: typed task-result points are refused; the items give them
    review = tptc.task_for("ttb", "review")
    detail = tptc.get(f"/tasks/{review['id']}").get_json()
    rows = detail["data"]["items"]
    assert {r["title"]: r["delays"] for r in rows}["Dự thảo quy chế thi đua"] == 1  # late: one delay by default
    for row in rows:
        if row["title"] == "Báo cáo tổng kết quý I":
            row["major_errors"] = 1
        if row["title"] == "Rà soát hồ sơ cán bộ":
            row.update(objective_cause=True, objective_reason="Chờ số liệu của Sở Tài chính")
    typed = tptc.post(
        f"/tasks/{review['id']}/complete",
        json={"data": {"scores": dict(GROUP_I, **{"II.1": 25}), "items": rows, "days_worked": 21}},
    )
    assert typed.status_code == 422 and typed.get_json()["details"][0]["field"] == "scores[II.1]"
    tptc.complete(review["id"], {"scores": GROUP_I, "items": rows, "days_worked": 21, "proposed_level": "B"})
    rec = record("ttb")
    # quantity 4.5/5.5 → 20.45; quality (2×0.75 + 1 + 1 + 0.5)/5.5 → 18.18; timeliness 4.25/5.5 → 15.45
    assert rec.scores == dict(GROUP_I, **{"II.1": 20.45, "II.2": 18.18, "II.3": 15.45})
    assert rec.total == 74.08 and rec.level == "B"  # the total at 0.01, not 74
    assert rec.kpi["quantity"] == 81.82 and rec.kpi["weight"] == 5.5
    assert db.session.scalar(select(PlanItem.status).where(PlanItem.title == "Hỗ trợ hội nghị")) == "accepted"
    api_kpi = gd.get(f"/instances/{rec.instance_id}").get_json()["result"]["kpi"]
    assert api_kpi["criteria"] == {"II.1": 20.45, "II.2": 18.18, "II.3": 15.45} and len(api_kpi["items"]) == 5

    # 6. the head confirms the objective cause: the unfinished item leaves the count
    resp = gd.post(
        "/decisions",
        {
            "unit": "SNV",
            "period": PERIOD,
            "items": [{"instance_id": rec.instance_id, "objective_cause_confirmed": True}],
        },
    )
    assert resp.status_code == 200, resp.get_json()
    rec = record("ttb")
    # quantity 4.5/4.5 → 25; quality 4/4.5 → 22.22; timeliness 4.25/4.5 → 18.89: 86.11
    assert rec.total == 86.11 and rec.level == "B" and rec.published_at is not None
    assert rec.scores["II.1"] == 25 and rec.kpi["quantity"] == 100.0
    assert db.session.scalar(select(PlanItem.objective_confirmed).where(PlanItem.title == "Rà soát hồ sơ cán bộ"))

    # 7. an appeal amendment starts from the computed points (kept to 0.01) and may change them
    assert (
        ttb.post(f"/instances/{rec.instance_id}/appeal", {"reason": "Đề nghị xem xét lại điểm chất lượng"}).status_code
        == 200
    )
    answer = gd.task_for("ttb", "appeal_decision")
    prefill = gd.get(f"/tasks/{answer['id']}").get_json()["data"]
    assert prefill["scores"] == dict(GROUP_I, **{"II.1": 25, "II.2": 22.22, "II.3": 18.89})  # as decided
    gd.complete(
        answer["id"],
        {
            "outcome": "amend",
            "reason": "Lỗi lớn thứ hai không do cá nhân",
            "scores": dict(prefill["scores"], **{"II.2": 25}),
        },
    )
    assert record("ttb").total == 88.89 and record("ttb").level == "B"  # 89.0 once, with the half point


def test_a_month_without_counted_items_falls_back_to_typed_points(plan_on, client):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    period_ends()  # nobody registered a plan: the self-evaluation opens anyway
    lvc, tptc = Api(client, "lvc"), Api(client, "tptc")
    task = lvc.task_for("lvc", "self_evaluation")
    missing = lvc.post(f"/tasks/{task['id']}/complete", json={"data": {"scores": GROUP_I}})
    assert missing.status_code == 422
    assert {d["field"] for d in missing.get_json()["details"]} == {"scores[II.1]", "scores[II.2]", "scores[II.3]"}
    lvc.complete(task["id"], {"scores": dict(GROUP_I, **{"II.1": 20, "II.2": 20, "II.3": 15})})
    review = tptc.task_for("lvc", "review")
    tptc.complete(review["id"], {"scores": dict(GROUP_I, **{"II.1": 22, "II.2": 21, "II.3": 16}), "days_worked": 21})
    rec = record("lvc")
    assert rec.total == 79 and rec.kpi["fallback"] == "no_counted_items"


def test_a_month_opened_after_the_period_lists_the_work_done(plan_on, client):
    """Opened late (the clock past the period): straight to self-evaluation, items marked 'afterwards'."""
    from app.engine.clock import frozen_at
    from app.services.evaluation import cycles

    with frozen_at(datetime(2030, 4, 2, 9, 0, tzinfo=VN)):
        cycles.open_month("SNV-TCCB", PERIOD, actor=user("nva"))
        db.session.commit()
    assert ready_steps("ptd") == {"self_evaluation"}
    ptd = Api(client, "ptd")
    task = ptd.task_for("ptd", "self_evaluation")
    ptd.complete(
        task["id"],
        {
            "scores": GROUP_I,
            "items": [
                {"title": "Tổng hợp báo cáo tháng", "weight": 1, "done": True, "completed_on": "2030-03-28"},
                {"title": "Cập nhật cơ sở dữ liệu", "weight": 1, "done": False},
            ],
        },
    )
    items = db.session.scalars(select(PlanItem).where(PlanItem.subject_id == user("ptd").id)).all()
    assert {i.origin for i in items} == {"afterwards"}
    assert record("ptd").self_total == 20 + 12.5 + 12.5 + 10


def test_leader_unit_results_re_evaluated_in_the_batch(client):
    """Decree 335: a leader's task points are 70 × the mean of a, b, c, the units' results and the
    capacity. The leader is reviewed while nobody of the unit is classified yet (100 %); a person of
    the unit reaches D afterwards, and the head's batch re-evaluates the leader at 50 % before the quota."""
    from app.models import Unit
    from app.services.regulation import schemes

    schemes.ensure_seeded()
    schemes.assign(
        db.session.scalars(select(Unit).where(Unit.code == "SNV")).one(), "nd335-2025", "2026-01", user("admin")
    )
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    tptc, gd, ttb = Api(client, "tptc"), Api(client, "gd"), Api(client, "ttb")
    general = {"I.1": 10, "I.2": 10, "I.3": 0}
    tptc.complete(
        tptc.task_for("tptc", "self_evaluation")["id"],
        {
            "scores": general,
            "items": [
                {
                    "title": "Chỉ đạo tổng kết quý",
                    "weight": 1,
                    "done": True,
                    "completed_on": "2030-03-20",
                    "deadline": "2030-03-25",
                }
            ],
        },
    )
    review = gd.task_for("tptc", "review_by_decider")
    rows = gd.get(f"/tasks/{review['id']}").get_json()["data"]["items"]
    gd.complete(review["id"], {"scores": general, "items": rows, "days_worked": 21})
    rec = record("tptc")
    assert rec.kpi["components"]["unit_results"] == 100.0 and rec.total == 90 and rec.level == "A"

    typed = dict(general, **{"II.1": 20, "II.2": 20, "II.3": 10})
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], {"scores": typed})
    tptc.complete(tptc.task_for("ttb", "review")["id"], {"scores": typed, "days_worked": 21, "discipline": True})
    assert record("ttb").level == "D"

    # keeping the leader at A is refused: the unit results are now 50 %
    both = [{"instance_id": rec.instance_id}, {"instance_id": record("ttb").instance_id}]
    refused = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [dict(both[0], level="A"), both[1]]})
    assert refused.status_code == 422 and refused.get_json()["details"][0]["field"] == "items[0].level"
    assert record("tptc").published_at is None
    resp = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [dict(both[0], capacity=80), both[1]]})
    assert resp.status_code == 200, resp.get_json()
    # (1 + 1 + 1 + 0.5 + 0.8) / 5 = 0.86 of 70 → 60.2, plus 20: 80.2 (kept at 0.01) → B
    rec = record("tptc")
    assert rec.total == 80.2 and rec.level == "B" and rec.kpi["components"] == {"unit_results": 50.0, "capacity": 80.0}
    assert [r["rule"] for r in rec.rules_applied].count("unit_results") == 1


def test_the_record_page_sheet_and_decision_page_show_the_arithmetic(plan_on, client):
    from .test_pages import login

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb, tptc = Api(client, "ttb"), Api(client, "tptc")
    ttb.complete(
        ttb.task_for("ttb", "work_plan")["id"],
        {
            "items": [
                {"title": "Báo cáo quý", "product": "Báo cáo", "weight": 2, "deadline": "2030-03-10"},
                {"title": "Quy chế thi đua", "weight": 1, "deadline": "2030-03-20"},
            ]
        },
    )
    tptc.complete(tptc.task_for("ttb", "plan_approval")["id"], {"approve": True})
    period_ends()
    task = ttb.task_for("ttb", "self_evaluation")
    rows = ttb.get(f"/tasks/{task['id']}").get_json()["data"]["items"]
    rows[0].update(done=True, completed_on="2030-03-09")
    ttb.complete(task["id"], {"scores": GROUP_I, "items": rows})
    review = tptc.task_for("ttb", "review")
    rows = tptc.get(f"/tasks/{review['id']}").get_json()["data"]["items"]
    tptc.complete(review["id"], {"scores": GROUP_I, "items": rows, "days_worked": 21})
    rec = record("ttb")
    assert rec.scores["II.1"] == round(25 * 2 / 3, 2)

    login(client, "tptc")
    page = client.get(f"/instances/{rec.instance_id}").get_data(as_text=True)
    assert "Báo cáo quý" in page and "Khối lượng = trọng số hoàn thành / tổng trọng số = 2 / 3 = 66,67%" in page
    assert "II.1 = 25 × 66,67% = 16,67 điểm" in page
    sheet = client.get(f"/instances/{rec.instance_id}/sheet").get_data(as_text=True)
    assert 'id="sheet-plan"' in sheet and "16,67" in sheet
    client.get("/logout")
    login(client, "gd")
    decisions = client.get("/decisions").get_data(as_text=True)
    assert "Hoàn thành 66,67%" in decisions and "II.1: 16,67" in decisions


def test_the_demo_month_runs_on_registered_work(plan_on, client):
    from app.demo import demo_month

    demo_month(PERIOD)
    plans_by_person = {p["person"]: p for p in Api(client, "admin").get(f"/plans?period={PERIOD}").get_json()}
    assert len(plans_by_person) == 12 and all(len(p["items"]) >= 3 for p in plans_by_person.values())
    assert {i["status"] for p in plans_by_person.values() for i in p["items"]} == {"accepted"}
    assert record("ttb").status == "in_progress"
    period_ends()
    ttb, tptc = Api(client, "ttb"), Api(client, "tptc")
    task = ttb.task_for("ttb", "self_evaluation")
    rows = ttb.get(f"/tasks/{task['id']}").get_json()["data"]["items"]
    for row in rows:
        row.update(done=True, completed_on=row["deadline"])
    ttb.complete(task["id"], {"scores": GROUP_I, "items": rows})
    review = tptc.task_for("ttb", "review")
    rows = tptc.get(f"/tasks/{review['id']}").get_json()["data"]["items"]
    tptc.complete(review["id"], {"scores": GROUP_I, "items": rows, "days_worked": 21})
    assert record("ttb").total == 90 and record("ttb").kpi["quantity"] == 100.0
    from app.services.reporting import dashboard

    board = dashboard.build(user("admin"), "SNV", PERIOD)
    tccb = next(c for c in board["completion"] if c["unit"] == "SNV-TCCB")
    assert 0 < tccb["plan_percent"] < 100  # ttb's plan is done, the others' not yet


def test_the_plan_is_returned_once_and_foreign_items_are_refused(plan_on, client):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb, lvc, tptc = Api(client, "ttb"), Api(client, "lvc"), Api(client, "tptc")
    ttb.complete(ttb.task_for("ttb", "work_plan")["id"], {"items": [{"title": "Việc chung chung"}]})
    lvc.complete(lvc.task_for("lvc", "work_plan")["id"], {"items": [{"title": "Việc của lvc", "weight": 1}]})
    approval = tptc.task_for("ttb", "plan_approval")
    no_note = tptc.post(f"/tasks/{approval['id']}/complete", json={"data": {"approve": False}})
    assert no_note.status_code == 422 and no_note.get_json()["details"][0]["field"] == "note"
    tptc.complete(approval["id"], {"approve": False, "note": "Ghi rõ sản phẩm và thời hạn"})
    assert ready_steps("ttb") == {"work_plan"} and record("ttb").status == "planning"
    again = ttb.task_for("ttb", "work_plan")
    detail = ttb.get(f"/tasks/{again['id']}").get_json()
    assert "Ghi rõ sản phẩm và thời hạn" in detail["instructions"]
    rows = detail["data"]["items"]
    assert [r["title"] for r in rows] == ["Việc chung chung"]
    lvc_item = db.session.scalar(select(PlanItem.id).where(PlanItem.title == "Việc của lvc"))
    foreign = ttb.post(f"/tasks/{again['id']}/complete", json={"data": {"items": [{"id": lvc_item, "title": "x"}]}})
    assert foreign.status_code == 422 and foreign.get_json()["details"][0]["field"] == "items[0][id]"
    assert db.session.scalar(select(PlanItem.title).where(PlanItem.id == lvc_item)) == "Việc của lvc"
    rows[0].update(product="Báo cáo", deadline="2030-03-15", weight=2)
    ttb.complete(again["id"], {"items": rows})
    # a second return is not offered: the plan goes on as the manager leaves it
    approval = tptc.task_for("ttb", "plan_approval")
    tptc.complete(approval["id"], {"approve": False, "note": "Vẫn chưa rõ"})
    assert ready_steps("ttb") == set() and record("ttb").status == "in_progress"
    item = db.session.scalars(select(PlanItem).where(PlanItem.subject_id == user("ttb").id)).one()
    assert (item.weight, item.product, item.status) == (2, "Báo cáo", "pending")


# ------------------------------------------------------------ a leader's components on the head's pages
def _leader_month(client, dmn_edit=None):
    """Decree 335: the leader tptc reviewed at 100 % unit results (A, 90 points), then ttb of the unit
    reaches D. `dmn_edit` changes the classification table in a newly published version first."""
    from app.models import ProcessVersion, Unit
    from app.services.process_design import versions
    from app.services.regulation import schemes

    schemes.ensure_seeded()
    schemes.assign(
        db.session.scalars(select(Unit).where(Unit.code == "SNV")).one(), "nd335-2025", "2026-01", user("admin")
    )
    if dmn_edit is not None:
        latest = versions.latest_published()
        files = dict(latest.files, **{"classification.dmn": dmn_edit(latest.files["classification.dmn"])})
        db.session.add(
            ProcessVersion(
                process_key=versions.PROCESS_KEY,
                version=latest.version + 1,
                files=files,
                sha256=versions.digest(files),
                status="published",
                note="new thresholds",
            )
        )
        db.session.commit()
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    tptc, gd, ttb = Api(client, "tptc"), Api(client, "gd"), Api(client, "ttb")
    general = {"I.1": 10, "I.2": 10, "I.3": 0}
    tptc.complete(
        tptc.task_for("tptc", "self_evaluation")["id"],
        {
            "scores": general,
            "items": [
                {
                    "title": "Chỉ đạo tổng kết quý",
                    "weight": 1,
                    "done": True,
                    "completed_on": "2030-03-20",
                    "deadline": "2030-03-25",
                }
            ],
        },
    )
    review = gd.task_for("tptc", "review_by_decider")
    rows = gd.get(f"/tasks/{review['id']}").get_json()["data"]["items"]
    gd.complete(review["id"], {"scores": general, "items": rows, "days_worked": 21})
    typed = dict(general, **{"II.1": 20, "II.2": 20, "II.3": 10})
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], {"scores": typed})
    tptc.complete(tptc.task_for("ttb", "review")["id"], {"scores": typed, "days_worked": 21, "discipline": True})
    assert record("tptc").level == "A" and record("ttb").level == "D"
    return gd


def test_the_single_decision_page_asks_the_capacity_and_re_evaluates_the_unit_results(client):
    """The head's own decision page: the capacity field next to the leader (0–100, the error next to it
    in the head's language, nothing changed), and the unit results re-evaluated at 50 % as the batch
    does, before the level is kept: 70 × (1 + 1 + 1 + 0.5 + 0.8) / 5 = 60.2, plus 20 → 80.2 → B."""
    import re

    from .conftest import csrf_token
    from .test_pages import login

    gd = _leader_month(client)
    task = gd.task_for("tptc", "decision")
    login(client, "gd")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="capacity"', page), "the capacity field is on the leader's page"
    staff = gd.task_for("ttb", "decision")
    assert 'name="capacity"' not in client.get(f"/tasks/{staff['id']}").get_data(as_text=True)

    client.get(f"/language/en?next=/tasks/{task['id']}")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    refused = client.post(f"/tasks/{task['id']}", data={"capacity": "150", "csrf_token": csrf_token(page)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    field = re.search(r'<input[^>]*name="capacity"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1)
    error = re.search(rf'id="{described.split()[0]}"[^>]*>([^<]*)<', html).group(1)
    assert "100" in error and "Giá trị" not in error and "tối đa" not in error  # English, next to the field
    db.session.expire_all()
    assert record("tptc").published_at is None and record("tptc").total == 90

    # keeping A is refused next to the level: the units led reached only 50 %
    above = client.post(f"/tasks/{task['id']}", data={"level": "A", "reason": "Giữ", "csrf_token": csrf_token(html)})
    assert above.status_code == 422 and "at most level B" in above.get_data(as_text=True)
    ok = client.post(f"/tasks/{task['id']}", data={"capacity": "80", "csrf_token": csrf_token(html)})
    assert ok.status_code == 302, ok.get_data(as_text=True)[:800]
    db.session.expire_all()
    rec = record("tptc")
    assert rec.total == 80.2 and rec.level == "B" and rec.published_at is not None
    assert rec.kpi["components"] == {"unit_results": 50.0, "capacity": 80.0}
    assert [r["rule"] for r in rec.rules_applied].count("unit_results") == 1
    assert "80.2" in client.get(f"/instances/{rec.instance_id}").get_data(as_text=True)


def test_the_batch_page_asks_the_capacity_next_to_each_leader(client):
    """The batch decision page: a capacity outside 0–100 is refused next to the leader's field, in the
    head's language; a valid one is stored and counted in the computed points."""
    import re

    from .test_pages import login

    _leader_month(client)
    tptc_id, ttb_id = record("tptc").instance_id, record("ttb").instance_id
    login(client, "gd")
    client.get("/language/en?next=/decisions")
    html = client.get("/decisions").get_data(as_text=True)
    assert f'name="capacity_{tptc_id}"' in html and f'name="capacity_{ttb_id}"' not in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    fields = {"unit": "SNV", "period": PERIOD, "instance_id": [str(tptc_id), str(ttb_id)], "csrf_token": token}
    refused = client.post("/decisions", data=dict(fields, **{f"capacity_{tptc_id}": "120"}))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and record("tptc").published_at is None
    assert re.search(
        rf'name="capacity_{tptc_id}"[^>]*aria-invalid="true" aria-describedby="capacity-error-{tptc_id}"', html
    )
    assert re.search(
        rf'<p class="field-error" id="capacity-error-{tptc_id}" role="alert">The capacity to organise '
        r"the work is a percentage from 0 to 100.</p>",
        html,
    )
    assert 'value="120"' in html  # kept as the head typed it
    ok = client.post("/decisions", data=dict(fields, **{f"capacity_{tptc_id}": "60"}))
    assert ok.status_code == 302, ok.get_data(as_text=True)[:800]
    db.session.expire_all()
    rec = record("tptc")
    # 70 × (1 + 1 + 1 + 0.5 + 0.6) / 5 = 57.4, plus 20 → 77.4 → B
    assert rec.kpi["components"] == {"unit_results": 50.0, "capacity": 60.0} and rec.level == "B"
    assert rec.kpi["criteria"]["II.1"] == 57.4 or sum(rec.kpi["criteria"].values()) == pytest.approx(57.4, abs=0.05)


def test_the_unit_results_level_follows_the_process_classification_table(client):
    """A designer's new DMN version (B from 85) changes the level of the re-evaluated leader: 80.2 → C."""
    gd = _leader_month(client, dmn_edit=lambda text: text.replace("&gt;= 70", "&gt;= 85"))
    both = [{"instance_id": record("tptc").instance_id, "capacity": 80}, {"instance_id": record("ttb").instance_id}]
    resp = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": both})
    assert resp.status_code == 200, resp.get_json()
    rec = record("tptc")
    assert rec.total == 80.2 and rec.level == "C"
    assert next(r for r in rec.rules_applied if r["rule"] == "score")["level"] == "C"


def test_the_plan_step_is_reminded_the_working_day_before_its_deadline(plan_on, client):
    """The work plan is due WD3 of the period (Tuesday 5 March 2030): the process's own reminder timer
    (a boundary timer on `work_plan`, not Python) tells whoever has not registered their plan at the
    end of WD2, through the timer worker; whoever registered it is not reminded, nobody twice."""
    from sqlalchemy import func

    from app.models import Notification

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb = Api(client, "ttb")
    ttb.complete(ttb.task_for("ttb", "work_plan")["id"], {"items": [{"title": "Báo cáo quý", "weight": 1}]})
    due = (
        db.session.scalars(
            select(HumanTask).where(HumanTask.subject_id == user("lvc").id, HumanTask.step == "work_plan")
        )
        .one()
        .due_at
    )
    assert due.astimezone(VN).date().isoformat() == "2030-03-05"

    def reminders(username):
        return db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user(username).id, Notification.kind == "reminder")
        )

    def run(when):
        out = plan_on.test_cli_runner().invoke(args=["timers", "run", "--now", when])
        assert out.exit_code == 0, out.output
        db.session.expire_all()

    run("2030-03-04T10:00:00+07:00")  # WD2, before its end: not yet
    assert reminders("lvc") == 0
    run("2030-03-05T08:00:00+07:00")  # WD2 has ended
    assert reminders("lvc") == 1 and reminders("ttb") == 0
    text = db.session.scalars(
        select(Notification).where(Notification.user_id == user("lvc").id, Notification.kind == "reminder")
    ).one()
    assert "kế hoạch" in text.message.lower() and "05/03/2030" in text.message
    assert "work_plan" in ready_steps("lvc")  # a reminder, the step stays open
    run("2030-03-06T08:00:00+07:00")
    assert reminders("lvc") == 1
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "reminder_sent")) >= 1
    )


# ------------------------------------------------------------------- evidence attached from the task form
def _one_item_planned_and_approved(client) -> Api:
    """SNV-TCCB's month opened; ttb plans one item, tptc approves it, the month ends: ttb's API client."""
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb, tptc = Api(client, "ttb"), Api(client, "tptc")
    ttb.complete(
        ttb.task_for("ttb", "work_plan")["id"],
        {"items": [{"title": "Báo cáo quý", "product": "Báo cáo", "weight": 1, "deadline": "2030-03-10"}]},
    )
    tptc.complete(tptc.task_for("ttb", "plan_approval")["id"], {"approve": True})
    period_ends()
    return ttb


def test_a_photo_is_attached_to_an_item_from_the_self_evaluation_form(plan_on, client):
    """The self-evaluation form lets the person take a photo or choose a file per item; the upload goes
    through the evidence service (content sniffed, name cleaned, sha256, who may), the page comes back
    with the file's name as a link and the typed form kept; a refusal is said next to the item's
    evidence field with nothing stored; the form's data stays a list of ids."""
    import hashlib
    import io
    import re

    from app.models import Evidence, TaskDraft

    from .conftest import csrf_token
    from .test_evidence import PNG
    from .test_pages import login

    ttb = _one_item_planned_and_approved(client)
    task = ttb.task_for("ttb", "self_evaluation")
    item_id = db.session.scalars(select(PlanItem.id).where(PlanItem.subject_id == user("ttb").id)).one()

    login(client, "ttb")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    photo = re.search(r'<input[^>]*name="items\[0\]\[evidence\]__photo"[^>]*>', page).group(0)
    assert 'accept="image/*"' in photo and "capture" in photo
    chosen = re.search(r'<input[^>]*name="items\[0\]\[evidence\]__file"[^>]*>', page).group(0)
    assert 'accept="image/*,application/pdf' in chosen
    assert f'formaction="/tasks/{task["id"]}/evidence"' in page and 'formenctype="multipart/form-data"' in page
    fields = {
        "csrf_token": csrf_token(page),
        "items[0][id]": str(item_id),
        "items[0][title]": "Báo cáo quý",
        "items[0][done]": "true",
        "items[0][completed_on]": "2030-03-08",
        "items[0][note]": "Đã nộp",
        "attach": "items[0][evidence]",
    }
    for code, value in GROUP_I.items():
        fields[f"scores[{code}]"] = str(value)

    # a text file named as a photo: refused next to the item's evidence field, nothing stored
    fake = client.post(
        f"/tasks/{task['id']}/evidence",
        content_type="multipart/form-data",
        data=dict(fields, **{"items[0][evidence]__photo": (io.BytesIO(b"not a picture at all"), "anh.png")}),
    )
    # post/redirect/get: the refusal is shown on the task's page, which a reload reads again
    assert fake.status_code == 302 and fake.headers["Location"].endswith(f"/tasks/{task['id']}#f-items-0-evidence")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r'<p class="field-error" id="f-items-0-evidence-error" role="alert">', html)
    assert "Đã nộp</textarea>" in html and "Báo cáo quý</textarea>" in html  # the form as typed, the item as stored
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0

    # a photo of the document: stored with its hash under a clean name, listed on the item
    sent = client.post(
        f"/tasks/{task['id']}/evidence",
        content_type="multipart/form-data",
        data=dict(fields, **{"items[0][evidence]__photo": (io.BytesIO(PNG), "../IMG 0001.png")}),
    )
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/tasks/{task['id']}#f-items-0-evidence")
    row = db.session.scalars(select(Evidence)).one()
    assert row.item_id == item_id and row.sha256 == hashlib.sha256(PNG).hexdigest()
    assert "/" not in row.name and ".." not in row.name and row.content_type == "image/png"
    draft = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task["id"])).one()
    assert draft.data["items"][0]["evidence"] == [row.id] and draft.data["items"][0]["note"] == "Đã nộp"
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert f'<a href="/evidence/{row.id}" class="evidence-name">{row.name}</a>' in page
    assert f'<input type="hidden" name="items[0][evidence]" value="{row.id}">' in page
    client.get(f"/language/en?next=/tasks/{task['id']}")
    english = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "Take a photo" in english and "Choose file" in english and "Upload the evidence" in english
    assert "No file chosen" in english and 'data-empty="No file chosen"' in english
    assert "Chụp ảnh" not in english and "Tải lên minh chứng" not in english and "Chưa chọn tệp" not in english
    client.get(f"/language/vi?next=/tasks/{task['id']}")

    # someone outside the record's chain cannot attach to it
    login(client, "lvc")
    other = client.post(
        f"/tasks/{task['id']}/evidence",
        content_type="multipart/form-data",
        data=dict(
            fields,
            csrf_token=csrf_token(client.get("/").get_data(as_text=True)),
            **{"items[0][evidence]__photo": (io.BytesIO(PNG), "x.png")},
        ),
    )
    assert other.status_code in (403, 404)
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 1

    # the form is sent with the ids the page carries: the item keeps the evidence (a list of ids)
    login(client, "ttb")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    done = client.post(
        f"/tasks/{task['id']}",
        data=dict(
            {k: v for k, v in fields.items() if k != "attach"},
            csrf_token=csrf_token(page),
            **{"items[0][evidence]": str(row.id)},
        ),
    )
    assert done.status_code == 302, re.findall(r"field-error[^<]*<[^<]*<?[^<]*", done.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(PlanItem, item_id).evidence == [row.id]
    # the manager's review shows the file by name, with its link, read-only
    login(client, "tptc")
    review = Api(client, "tptc").task_for("ttb", "review")
    page = client.get(f"/tasks/{review['id']}").get_data(as_text=True)
    assert f'<a href="/evidence/{row.id}" class="evidence-name">{row.name}</a>' in page
    assert "__photo" not in page


def test_the_evidence_service_keeps_the_typed_rows_over_the_stored_items(plan_on, client):
    """`tasks.attach_evidence`, the use case behind the task form's upload (the route only reads the
    request): the typed row goes over the stored item (its read-only title kept, the typed note and tick
    kept) into the draft with the new file's id; a missing file or a bad one is refused naming the item's
    evidence field, with nothing stored; someone else's task is refused before anything is read."""
    import io

    from werkzeug.datastructures import MultiDict

    from app.models import Evidence, TaskDraft
    from app.services.errors import Forbidden, Invalid
    from app.services.evaluation import tasks

    from .test_evidence import PNG

    ttb = _one_item_planned_and_approved(client)
    task = ttb.task_for("ttb", "self_evaluation")["id"]
    item_id = db.session.scalars(select(PlanItem.id).where(PlanItem.subject_id == user("ttb").id)).one()
    form = MultiDict(
        {"items[0][id]": str(item_id), "items[0][done]": "true", "items[0][note]": "Đã nộp", "attach": "x"}
    )
    field = "items[0][evidence]"
    assert tasks.evidence_row(field) == 0 and tasks.evidence_row("items[0][note]") is None

    with pytest.raises(Invalid) as missing:
        tasks.attach_evidence(task, user("ttb"), form, field, None)
    assert [d["field"] for d in missing.value.details] == [field]
    with pytest.raises(Invalid) as fake:
        tasks.attach_evidence(task, user("ttb"), form, field, (io.BytesIO(b"not a picture"), "anh.png"))
    assert fake.value.details and {d["field"] for d in fake.value.details} == {field}
    with pytest.raises(Forbidden):
        tasks.attach_evidence(task, user("lvc"), form, field, (io.BytesIO(PNG), "x.png"))
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert db.session.scalar(select(func.count()).select_from(TaskDraft)) == 0

    added = tasks.attach_evidence(task, user("ttb"), form, field, (io.BytesIO(PNG), "IMG_1.png"))
    draft = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task)).one()
    row = draft.data["items"][0]
    assert row["title"] == "Báo cáo quý" and row["weight"] == 1  # as stored: read-only on the form
    assert row["note"] == "Đã nộp" and row["done"] is True  # as typed
    assert row["evidence"] == [added.id] and added.item_id == item_id


def test_the_demo_month_through_the_pages_no_typed_task_result_score(plan_on, client):
    """`flask demo --month`: the person ticks the work done and the manager confirms it on the HTML forms
    (only group I is typed: the task-result fields are read-only and none is sent), the head decides
    from the batch page, and the API and the printed sheet give the items, weights, deductions and the
    arithmetic behind every point."""
    import re

    from .conftest import csrf_token
    from .test_pages import login

    out = plan_on.test_cli_runner().invoke(args=["demo", "--month", PERIOD])
    assert out.exit_code == 0, out.output
    period_ends()
    task = Api(client, "ttb").task_for("ttb", "self_evaluation")
    login(client, "ttb")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    for code in ("II.1", "II.2", "II.3"):
        assert re.search(rf'<input[^>]*name="scores\[{code}\]"[^>]*readonly', page), code
    ids = dict(re.findall(r'name="items\[(\d+)\]\[id\]" value="(\d+)"', page))
    rows = len(ids)
    assert rows >= 3
    form = {"csrf_token": csrf_token(page), **{f"scores[{c}]": str(v) for c, v in GROUP_I.items()}}
    for i in range(rows):
        form[f"items[{i}][id]"] = ids[str(i)]
        form[f"items[{i}][title]"] = "x"  # read-only: the stored title is kept
        form[f"items[{i}][done]"] = "true" if i else ""
        form[f"items[{i}][completed_on]"] = "2030-03-28" if i else ""
    sent = client.post(f"/tasks/{task['id']}", data=form)
    assert sent.status_code == 302, re.findall(r"field-error[^<]*<[^<]*<[^<]*", sent.get_data(as_text=True))
    client.get("/logout")

    review = Api(client, "tptc").task_for("ttb", "review")
    login(client, "tptc")
    page = client.get(f"/tasks/{review['id']}").get_data(as_text=True)
    ids = dict(re.findall(r'name="items\[(\d+)\]\[id\]" value="(\d+)"', page))
    form = {"csrf_token": csrf_token(page), "days_worked": "21", **{f"scores[{c}]": str(v) for c, v in GROUP_I.items()}}
    for i in range(rows):
        form[f"items[{i}][id]"] = ids[str(i)]
        form[f"items[{i}][title]"] = "x"
        form[f"items[{i}][done]"] = "true" if i else ""
        form[f"items[{i}][major_errors]"] = "1" if i == 1 else "0"
    sent = client.post(f"/tasks/{review['id']}", data=form)
    assert sent.status_code == 302, re.findall(r"field-error[^<]*<[^<]*<[^<]*", sent.get_data(as_text=True))
    client.get("/logout")
    rec = record("ttb")
    assert set(rec.kpi["criteria"]) == {"II.1", "II.2", "II.3"} and rec.kpi["quantity"] < 100
    assert all(round(v, 2) == v for v in rec.kpi["criteria"].values())
    assert rec.total == round(20 + sum(rec.kpi["criteria"].values()), 2)

    login(client, "gd")
    page = client.get("/decisions").get_data(as_text=True)
    assert re.search(rf'data-instance="{rec.instance_id}"', page)
    decided = client.post(
        "/decisions",
        data={"csrf_token": csrf_token(page), "unit": "SNV", "period": PERIOD, "instance_id": [str(rec.instance_id)]},
    )
    assert decided.status_code == 302
    db.session.expire_all()
    assert record("ttb").published_at is not None
    api = Api(client, "gd").get(f"/instances/{rec.instance_id}").get_json()["result"]["kpi"]
    assert api["criteria"] == rec.kpi["criteria"] and len(api["items"]) == rows
    assert {"weight", "major_errors", "delays", "done"} <= set(api["items"][0])

    sheet = client.get(f"/instances/{rec.instance_id}/sheet").get_data(as_text=True)
    items = db.session.scalars(select(PlanItem).where(PlanItem.subject_id == user("ttb").id)).all()
    assert all(i.title in sheet for i in items)
    assert "Khối lượng = trọng số hoàn thành / tổng trọng số" in sheet and "Chất lượng = Σ trọng số" in sheet
    for code, points in rec.kpi["criteria"].items():
        assert f"{code} = " in sheet and f"{points:g}".replace(".", ",") in sheet
    assert re.search(r'data-label="Lỗi lớn">1<', sheet)  # the deduction, on its item
