"""A whole month for the demo agency through the JSON API: open → self-evaluations → reviews (one
returned for revision) → batch decision (quota refused, then met) → publication → one appeal
amended → lock, asserting totals, levels, assignees and audit events."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask, ProcessInstance
from app.services.evaluation import timers

from .conftest import PERIOD, later, user
from .support import Api, review_step, scores_for

REVIEW_TOTALS = {  # reviewer -> {subject: total}
    "tptc": {"nva": 95, "ttb": 92, "lvc": 95, "ptd": 80},
    "tpcc": {"hve": 93, "dtg": 91, "vvh": 75, "bti": 60},
    "gd": {"tpcc": 85, "tptc": 88, "admin": 45},
    "chutich": {"gd": 86},
}
LEADERS = {"gd", "tpcc", "tptc"}


def _record(username):
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == PERIOD
        )
    ).one()


def _assignee(username, step):
    row = db.session.scalars(
        select(HumanTask).where(
            HumanTask.subject_id == user(username).id, HumanTask.step == step, HumanTask.status == "ready"
        )
    ).one()
    return row.assignee.username


def _ready_steps(username):
    return set(
        db.session.scalars(
            select(HumanTask.step).where(HumanTask.subject_id == user(username).id, HumanTask.status == "ready")
        )
    )


def test_full_month_through_the_api(client):
    hr = Api(client, "nva")
    resp = hr.post("/cycles", {"unit": "SNV", "period": PERIOD, "include_subunits": True})
    assert resp.status_code == 200 and resp.get_json() == {"started": 12, "skipped": 0}
    assert hr.post("/cycles", {"unit": "SNV", "period": PERIOD, "include_subunits": True}).get_json() == {
        "started": 0,
        "skipped": 12,
    }
    assert db.session.scalar(select(db.func.count()).select_from(ProcessInstance)) == 12

    # 1. every subject evaluates themself
    everyone = [u for totals in REVIEW_TOTALS.values() for u in totals]
    for username in everyone:
        api = Api(client, username)
        task = api.task_for(username, "self_evaluation")
        assert task["period"] == PERIOD and task["due_at"].startswith("2030-04-03")
        detail = api.get(f"/tasks/{task['id']}").get_json()
        assert set(detail["schema"]["properties"]["scores"]["properties"]) == {
            "I.1",
            "I.2",
            "I.3",
            "I.4",
            "II.1",
            "II.2",
            "II.3",
        }
        form = dict(scores_for(88, username in LEADERS), comment="Tự đánh giá tháng này")
        result = api.complete(task["id"], form)
        assert result["instance"]["result"]["self_total"] == 88
    assert _assignee("nva", "review") == "tptc"
    # a division leader's manager is the head, the head's is the city: no separate review, straight to
    # the decider's own scoring
    assert _assignee("tptc", "review_by_decider") == "gd"
    assert _assignee("gd", "review_by_decider") == "chutich"
    assert not _ready_steps("tptc") - {"review_by_decider"}
    assert _record("nva").status == "review"

    # 2. reviews; ttb is returned for revision once, resubmits, and is reviewed again
    tptc = Api(client, "tptc")
    ret = tptc.task_for("ttb", "review")
    tptc.complete(
        ret["id"],
        dict(
            scores_for(80),
            days_worked=21,
            return_for_revision=True,
            revision_note="Bổ sung minh chứng khối lượng công việc",
        ),
    )
    ttb = Api(client, "ttb")
    again = ttb.task_for("ttb", "self_evaluation")
    assert _record("ttb").status == "self_evaluation"
    assert ttb.get(f"/tasks/{again['id']}").get_json()["revision_note"] == "Bổ sung minh chứng khối lượng công việc"
    ttb.complete(again["id"], dict(scores_for(92), comment="Đã bổ sung minh chứng"))
    for reviewer, totals in REVIEW_TOTALS.items():
        api = Api(client, reviewer)
        for subject, total in totals.items():
            task = api.task_for(subject, review_step(subject))
            form = dict(
                scores_for(total, subject in LEADERS),
                days_worked=21,
                proposed_level="B",
                comment="Nhận xét của lãnh đạo",
            )
            if subject == "lvc":
                form["days_worked"] = 10  # ≤ 50% of the month: at most C
            if subject == "ptd":
                form["discipline"] = True  # reprimand in the month: D
            api.complete(task["id"], form)
    assert _record("ttb").self_total == 92
    assert _record("lvc").level == "C" and [r["rule"] for r in _record("lvc").rules_applied] == ["score", "attendance"]
    assert _record("ptd").level == "D"
    assert _record("nva").total == 95 and _record("nva").level == "A"
    assert _record("admin").level == "D" and _record("bti").level == "C"
    assert _assignee("nva", "decision") == "gd"
    assert _assignee("gd", "decision") == "chutich"

    # 3. batch decision: 4 A's for 12 people (cap 3) is refused, nothing changes
    gd = Api(client, "gd")
    pending = gd.tasks("decision")
    assert {t["subject"]["username"] for t in pending} == set(everyone) - {"gd"}
    items = [{"instance_id": t["instance_id"]} for t in pending]
    refused = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["details"][0]["count"] == 4 and body["details"][0]["cap"] == 3
    assert _record("nva").published_at is None and len(gd.tasks("decision")) == 11
    # raising a level above the rules is refused too
    lvc_item = next(t for t in pending if t["subject"]["username"] == "lvc")
    raise_attempt = gd.post(
        "/decisions",
        {
            "unit": "SNV",
            "period": PERIOD,
            "items": [{"instance_id": lvc_item["instance_id"], "level": "A", "reason": "x"}],
        },
    )
    assert raise_attempt.status_code == 422 and _record("lvc").level == "C"

    dtg = next(t for t in pending if t["subject"]["username"] == "dtg")
    items = [{"instance_id": t["instance_id"]} for t in pending if t is not dtg]
    items.append({"instance_id": dtg["instance_id"], "level": "B", "reason": "Bảo đảm tỷ lệ loại A"})
    ok = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items})
    assert ok.status_code == 200, ok.get_json()
    quota = ok.get_json()["quota"]
    assert (quota["evaluated"], quota["count_a"], quota["cap"], quota["exceeded"]) == (12, 3, 3, False)
    assert _record("dtg").level == "B" and _record("dtg").rules_applied[-1]["reason"] == "Bảo đảm tỷ lệ loại A"
    assert _record("nva").published_at is not None and _record("nva").status == "published"

    chutich = Api(client, "chutich")
    gd_task = chutich.task_for("gd", "decision")
    assert (
        chutich.post(
            "/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": gd_task["instance_id"]}]}
        ).status_code
        == 200
    )
    assert _record("gd").level == "B"

    # 4. hve appeals; the decider amends the scores; the level is recomputed
    hve_instance = _record("hve").instance_id
    assert (
        Api(client, "dtg")
        .post(f"/instances/{hve_instance}/appeal", {"reason": "Tôi muốn kiến nghị thay người khác"})
        .status_code
        == 403
    )
    hve = Api(client, "hve")
    resp = hve.post(f"/instances/{hve_instance}/appeal", {"reason": "Đề nghị xem xét lại điểm tiến độ công việc"})
    assert resp.status_code == 200, resp.get_json()
    answer = gd.task_for("hve", "appeal_decision")
    gd.complete(answer["id"], dict(scores_for(80), outcome="amend", reason="Điều chỉnh điểm tiến độ theo kiến nghị"))
    assert _record("hve").total == 80 and _record("hve").level == "B" and _record("hve").status == "locked"
    assert (
        hve.post(f"/instances/{hve_instance}/appeal", {"reason": "Kiến nghị lần thứ hai sau khi chốt"}).status_code
        == 409
    )

    # 5. the appeal window closes for everyone else: every record is locked
    fired = timers.run_due(later(30))
    assert fired == 11
    records = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.period == PERIOD)).all()
    assert {r.status for r in records} == {"locked"}
    assert {r.level for r in records if r.subject.username in ("nva", "ttb", "hve", "dtg")} == {"A", "B"}
    assert db.session.scalar(select(db.func.count()).select_from(HumanTask).where(HumanTask.status == "ready")) == 0

    # 6. the history says who did what
    detail = hve.get(f"/instances/{hve_instance}").get_json()
    actions = [(e["action"], e["actor"], e["step"]) for e in detail["events"]]
    assert ("task_completed", "hve", "self_evaluation") in actions
    assert ("task_completed", "tpcc", "review") in actions
    assert ("task_completed", "gd", "decision") in actions
    assert ("appeal_submitted", "hve", None) in actions
    assert ("task_completed", "gd", "appeal_decision") in actions
    assert any(a == "published" for a, _, _ in actions)
    assert detail["result"]["level"] == "B" and detail["result"]["total"] == 80
    report = hr.get(f"/reports/monthly?unit=SNV&period={PERIOD}").get_json()
    assert report["counts"] == {"A": 2, "B": 6, "C": 2, "D": 2, "none": 0}  # hve A → B on appeal
    batch = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "batch_decided")).all()
    assert len(batch) == 2 and batch[0].actor.username == "gd"
