"""No way around the regulation's decisions (issue 12 §6): the quota holds on every path that decides a
level, the batch carries the objective cause, the exceptional month is kept, the head of an agency is
decided by the superior whoever is acting, and a delegate never touches the principal's own record."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AgencyMonth, AuditEvent, Delegation
from app.rules import levels
from app.services.evaluation import timers
from app.services.organisation import authority, delegation

from .conftest import PERIOD, csrf_token, later, user
from .support import Api, review_step, scores_for
from .test_pages import login
from .test_rules import ready, record, run_to_decision

TCCB_TWO_A = {"nva": 95, "ttb": 92, "lvc": 80, "ptd": 75, "tptc": 85}  # 2 A's of 5 people: the cap is 1


def _appeal_and_amend(client, decider, name, total, status=200):
    instance_id = record(name).instance_id
    assert (
        Api(client, name)
        .post(f"/instances/{instance_id}/appeal", {"reason": "Đề nghị xem xét lại điểm tiến độ"})
        .status_code
        == 200
    )
    task = ready(name, "appeal_decision")
    return Api(client, decider).complete(
        task.id, dict(scores_for(total), outcome="amend", reason="Điều chỉnh điểm theo kiến nghị"), status=status
    )


# --- 1. one quota check on every path ----------------------------------------------------------


def test_quota_rule_refuses_only_a_change_that_adds_an_a_over_the_cap():
    quota = {"rule": "share_of_evaluated", "share": 0.3, "exceptional_share": 0.4}
    current = {1: "A", 2: "A", 3: None, 4: "B", 5: None}  # 2 A's already, cap 1
    assert levels.quota_violation(current, {3: "B"}, quota, False) is None  # adds no A: never refused
    assert levels.quota_violation(current, {1: "B"}, quota, False) is None  # lowers one
    over = levels.quota_violation(current, {3: "A"}, quota, False)
    assert (over["count_a"], over["cap"], over["evaluated"]) == (3, 1, 5)
    assert (
        levels.quota_violation(
            {1: "A", 2: None, 3: None, 4: None, 5: None, 6: None, 7: None, 8: None, 9: None, 10: None},
            {2: "A", 3: "A", 4: "A"},
            quota,
            True,
        )
        is None
    )  # 4 ≤ 40 %
    of_b = {"rule": "share_of_b", "share": 0.2, "exceptional_share": 0.2}
    assert levels.quota_violation({i: "B" for i in range(1, 6)} | {6: None}, {6: "A"}, of_b, False) is None
    assert levels.quota_violation({1: "B", 2: "B", 3: None}, {3: "A"}, of_b, False)["cap"] == 0


def test_the_quota_cannot_be_bypassed_one_record_at_a_time(client):
    run_to_decision(client, TCCB_TWO_A)
    gd = Api(client, "gd")
    items = [{"instance_id": record(n).instance_id} for n in TCCB_TWO_A]
    assert gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items}).status_code == 422
    gd.complete(ready("nva", "decision").id, {})  # 1 A: at the cap
    refused = gd.complete(ready("ttb", "decision").id, {}, status=422)  # a second A, alone
    assert "Vượt tỷ lệ loại A: 2 người loại A, tối đa 1" in refused["message"]
    assert refused["details"][0]["field"] == "level" and refused["details"][0]["cap"] == 1
    assert record("ttb").published_at is None and ready("ttb", "decision").assignee.username == "gd"
    # the task page is the same path: refused, next to the level field, nothing decided
    login(client, "gd")
    href = f"/tasks/{ready('ttb', 'decision').id}"
    page = client.post(href, data={"csrf_token": csrf_token(client.get(href).get_data(as_text=True))})
    assert page.status_code == 422 and "Vượt tỷ lệ loại A" in page.get_data(as_text=True)
    assert record("ttb").published_at is None
    # lowering it (with a reason) and the records that add no A go through
    gd.complete(ready("ttb", "decision").id, {"level": "B", "reason": "Bảo đảm tỷ lệ loại A"})
    for name in ("lvc", "ptd", "tptc"):
        gd.complete(ready(name, "decision").id, {})
    report = Api(client, "nva").get(f"/reports/monthly?unit=SNV&period={PERIOD}").get_json()
    assert report["counts"]["A"] == 1

    # an appeal amendment that would make a second A is refused; one that keeps B is accepted
    body = _appeal_and_amend(client, "gd", "ttb", 95, status=422)
    assert "Vượt tỷ lệ loại A" in body["message"]
    assert record("ttb").level == "B" and ready("ttb", "appeal_decision").assignee.username == "gd"
    gd.complete(
        ready("ttb", "appeal_decision").id,
        dict(scores_for(88), outcome="amend", reason="Điều chỉnh điểm theo kiến nghị"),
    )
    assert record("ttb").level == "B" and record("ttb").status == "locked"


# --- 2. the objective cause in the batch --------------------------------------------------------


def test_the_head_confirms_an_objective_cause_in_the_batch(client):
    run_to_decision(client, {"lvc": 95}, {"lvc": {"days_worked": 8, "objective_cause": "Điều trị tai nạn lao động"}})
    assert record("lvc").level == "C"
    gd = Api(client, "gd")
    item = {"instance_id": record("lvc").instance_id, "level": "B", "reason": "Nghỉ do tai nạn lao động"}
    unconfirmed = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [item]})
    assert unconfirmed.status_code == 422 and record("lvc").published_at is None
    detail = unconfirmed.get_json()["details"][0]  # the row is named, for the page and the client
    assert detail["field"] == "items[0].objective_cause_confirmed" and detail["instance_id"] == item["instance_id"]
    not_a_boolean = gd.post(
        "/decisions", {"unit": "SNV", "period": PERIOD, "items": [dict(item, objective_cause_confirmed="yes")]}
    )
    # the API refuses a body its OpenAPI refuses with 400 before any service reads it
    assert not_a_boolean.status_code == 400 and record("lvc").published_at is None
    ok = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [dict(item, objective_cause_confirmed=True)]})
    assert ok.status_code == 200, ok.get_json()
    rec = record("lvc")
    assert rec.level == "B" and rec.rules_applied[-1]["rule"] == "objective_cause_confirmed"


def test_the_decision_page_has_the_objective_cause_per_row_in_both_languages(client):
    run_to_decision(client, {"lvc": 95, "ttb": 80}, {"lvc": {"days_worked": 8, "objective_cause": "Tai nạn lao động"}})
    lvc, ttb = record("lvc").instance_id, record("ttb").instance_id
    login(client, "gd")
    html = client.get("/decisions?lang=vi").get_data(as_text=True)
    row = re.search(rf'<tr data-level="C" data-instance="{lvc}".*?</tr>', html, re.S).group(0)
    assert re.search(rf'<input type="checkbox" name="objective_cause_{lvc}"', row)
    assert "Xác nhận nguyên nhân khách quan" in html and "Tai nạn lao động" in row
    assert re.search(r'<option value="B">B</option>', row) and re.search(r'<option value="A">A</option>', row)
    english = client.get("/decisions?lang=en").get_data(as_text=True)
    assert "Objective cause confirmed" in english and "Xác nhận nguyên nhân khách quan" not in english
    client.get("/decisions?lang=vi")
    fields = {
        "unit": "SNV",
        "period": PERIOD,
        "instance_id": [str(lvc), str(ttb)],
        "csrf_token": csrf_token(html),
        f"level_{lvc}": "B",
        f"reason_{lvc}": "Nghỉ do tai nạn lao động",
    }
    refused = client.post("/decisions", data=fields)  # not confirmed: refused, kept as left
    assert refused.status_code == 422 and record("lvc").published_at is None
    ok = client.post("/decisions", data=dict(fields, **{f"objective_cause_{lvc}": "on"}))
    assert ok.status_code == 302
    db.session.expire_all()
    assert record("lvc").level == "B" and record("lvc").published_at is not None


# --- 3. the exceptional month is kept -------------------------------------------------------------

SNV_TOTALS = {  # reviewer -> {subject: total}; A's: nva, ttb, hve, dtg (lvc capped at C by attendance)
    "tptc": {"nva": 95, "ttb": 92, "lvc": 95, "ptd": 80},
    "tpcc": {"hve": 93, "dtg": 91, "vvh": 75, "bti": 60},
    "gd": {"tpcc": 85, "tptc": 88, "admin": 45},
    "chutich": {"gd": 86},
}


def _whole_agency_to_decision(client):
    assert (
        Api(client, "nva").post("/cycles", {"unit": "SNV", "period": PERIOD, "include_subunits": True}).status_code
        == 200
    )
    for totals in SNV_TOTALS.values():
        for name in totals:
            api = Api(client, name)
            api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80, name in {"gd", "tpcc", "tptc"}))
    for reviewer, totals in SNV_TOTALS.items():
        api = Api(client, reviewer)
        for name, total in totals.items():
            form = dict(scores_for(total, name in {"gd", "tpcc", "tptc"}), days_worked=10 if name == "lvc" else 21)
            api.complete(api.task_for(name, review_step(name))["id"], form)


def test_the_exceptional_month_is_kept_for_every_later_decision(client):
    _whole_agency_to_decision(client)
    gd = Api(client, "gd")
    everyone = [t for t in gd.tasks("decision")]
    assert len(everyone) == 11
    items = [{"instance_id": t["instance_id"]} for t in everyone]
    assert gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": items}).status_code == 422  # 4 > 3
    ok = gd.post(
        "/decisions",
        {
            "unit": "SNV",
            "period": PERIOD,
            "items": items,
            "exceptional_reason": "Hoàn thành xuất sắc đợt sáp nhập đơn vị",
        },
    )
    assert ok.status_code == 200 and ok.get_json()["quota"]["cap"] == 4
    month = db.session.scalars(select(AgencyMonth)).one()
    assert (month.exceptional_reason, month.exceptional_by.username, month.period) == (
        "Hoàn thành xuất sắc đợt sáp nhập đơn vị",
        "gd",
        PERIOD,
    )
    assert month.exceptional_at is not None and month.agency.code == "SNV"
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "exceptional_month_marked"))
        .one()
        .actor.username
        == "gd"
    )

    # the superior decides the head's own record (B, no A added): accepted, and the record finishes
    chutich = Api(client, "chutich")
    gd_item = {"instance_id": record("gd").instance_id}
    resp = chutich.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [gd_item]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["quota"]["cap"] == 4
    assert record("gd").level == "B" and record("gd").published_at is not None
    timers.run_due(later(30))
    assert record("gd").status == "locked"


def test_a_late_record_and_an_amendment_count_against_the_exceptional_cap(client):
    _whole_agency_to_decision(client)
    gd = Api(client, "gd")
    late = record("dtg").instance_id
    items = [{"instance_id": t["instance_id"]} for t in gd.tasks("decision") if t["instance_id"] != late]
    assert (
        gd.post(
            "/decisions",
            {"unit": "SNV", "period": PERIOD, "items": items, "exceptional_reason": "Hoàn thành xuất sắc đợt cao điểm"},
        ).status_code
        == 200
    )
    # 3 A's are published; an amendment to A makes 4: within 40 % of 12 because the month is marked
    _appeal_and_amend(client, "gd", "vvh", 95)
    assert record("vvh").level == "A"
    # the late record at A would make 5 > 4: refused alone as it would have been in the batch
    refused = gd.complete(ready("dtg", "decision").id, {}, status=422)
    assert "tối đa 4" in refused["message"]
    gd.complete(ready("dtg", "decision").id, {"level": "B", "reason": "Bảo đảm tỷ lệ loại A"})
    assert record("dtg").level == "B"
    # the decision page shows the marking, and counts with the 40 % cap
    login(client, "chutich")
    html = client.get("/decisions").get_data(as_text=True)
    assert "Hoàn thành xuất sắc đợt cao điểm" in html and 'data-marked="true"' in html


# --- 4. the head of an agency is decided by the superior, whoever is acting ------------------------


def test_an_acting_deputy_never_decides_the_absent_heads_own_record(client):
    today = date.today()
    delegation.create_appointment(
        user("admin"),
        "SNV",
        "tpcc",
        "acting",
        (today - timedelta(days=1)).isoformat(),
        (today + timedelta(days=30)).isoformat(),
    )
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-VP", "period": PERIOD}).status_code == 200
    gd = Api(client, "gd")
    gd.complete(gd.task_for("gd", "self_evaluation")["id"], scores_for(86, True))
    assert ready("gd", "review_by_decider").assignee.username == "chutich"
    assert [t for t in Api(client, "tpcc").tasks() if t["subject"]["username"] == "gd"] == []
    chutich = Api(client, "chutich")
    chutich.complete(ready("gd", "review_by_decider").id, dict(scores_for(86, True), days_worked=21))
    assert ready("gd", "decision").assignee.username == "chutich"
    assert Api(client, "tpcc").complete(ready("gd", "decision").id, {}, status=403)
    # the acting head does decide the rest of the agency
    assert authority.decider_for(user("admin")).username == "tpcc"
    assert authority.decider_for(user("gd")).username == "chutich"


# --- 5. a delegate never sees or completes the principal's own record -------------------------------


def test_a_delegate_never_sees_or_completes_the_principals_own_self_evaluation(client):
    db.session.add(
        Delegation(
            principal_id=user("tptc").id,
            deputy_id=user("ttb").id,
            reason="Đi công tác",
            start=date.today() - timedelta(days=1),
            end=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    own = ready("tptc", "self_evaluation")
    ttb = Api(client, "ttb")
    assert own.id not in [t["id"] for t in ttb.tasks()]
    assert ttb.get(f"/tasks/{own.id}").status_code == 403
    ttb.complete(own.id, scores_for(100, True), status=403)
    assert ttb.post(f"/tasks/{own.id}/draft", json={"data": {}}).status_code in (403, 404, 405)
    login(client, "ttb")
    assert client.get(f"/tasks/{own.id}").status_code == 403
    assert ready("tptc", "self_evaluation").status == "ready"
    # the authority is handed over: ttb reviews nva on behalf of tptc
    nva = Api(client, "nva")
    nva.complete(nva.task_for("nva", "self_evaluation")["id"], scores_for(80))
    review = next(t for t in ttb.tasks("review") if t["subject"]["username"] == "nva")
    assert review["on_behalf_of"] == "tptc"
    ttb.complete(review["id"], dict(scores_for(80), days_worked=21))
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "task_completed", AuditEvent.step == "review")
    ).one()
    assert event.actor.username == "ttb" and event.on_behalf_of.username == "tptc"


def test_two_decisions_at_once_cannot_both_take_the_last_a(client, ctx):
    """Each decision alone fits the cap; together they would not. Whatever the timing, one wins and the
    other is refused (422 over the quota, or 409 changed meanwhile): never two A's."""
    import threading

    run_to_decision(client, TCCB_TWO_A)
    gd = Api(client, "gd")
    task_ids = [ready(name, "decision").id for name in ("nva", "ttb")]
    statuses, barrier = [], threading.Barrier(2)

    def worker(task_id):
        c = ctx.test_client()
        barrier.wait()
        statuses.append(c.post(f"/api/v1/tasks/{task_id}/complete", headers=gd.headers, json={"data": {}}).status_code)

    threads = [threading.Thread(target=worker, args=(t,)) for t in task_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) in ([200, 409], [200, 422]), statuses
    db.session.expire_all()
    assert sum(1 for name in ("nva", "ttb") if record(name).published_at is not None) == 1
