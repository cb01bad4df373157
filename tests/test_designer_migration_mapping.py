"""Migration with a mapping (issue #15): an instance waiting in a changed or renamed task moves when the
designer maps the old activity to the new one; the dry run says where each would go and why not; the
move runs in audited batches; moving one instance back to a step it has done is an audited repair."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, HumanTask
from app.services.process_design import designer, versions
from app.services.errors import Invalid

from .conftest import PERIOD, csrf_token, user
from .support import Api
from .test_designer import BPMN, instance_of, login, review, self_evaluate


def _renamed_review() -> dict[str, str]:
    files = versions.files_from_disk()
    text = files[BPMN]
    for pattern in (
        'id="review"',
        'attachedToRef="review"',
        'targetRef="review"',
        'sourceRef="review"',
        'bpmnElement="review"',
    ):
        text = text.replace(pattern, pattern.replace('"review"', '"manager_review"'))
    text = text.replace(
        "<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>manager_review</bpmn:flowNodeRef>"
    )
    # the reminder names the step it is for (a reminder for a step that is gone is refused)
    text = text.replace('notify("reminder", "review")', 'notify("reminder", "manager_review")')
    # its deadline in its own pre-script: the init script every instance has run stays as it was
    text = text.replace(
        "<spiffworkflow:variableName>review</spiffworkflow:variableName>\n      </bpmn:extensionElements>\n      <bpmn:incoming>flow_review_merge_review</bpmn:incoming>",
        "<spiffworkflow:variableName>review</spiffworkflow:variableName>\n"
        "        <spiffworkflow:preScript>manager_review_due = review_due</spiffworkflow:preScript>\n"
        "      </bpmn:extensionElements>\n      <bpmn:incoming>flow_review_merge_review</bpmn:incoming>",
    )
    assert "manager_review_due = review_due" in text
    files[BPMN] = text
    return files


def test_an_instance_waiting_in_a_renamed_review_moves_with_a_mapping(client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).get_json()["started"] == 5
    self_evaluate(client, "nva")  # nva waits in the review
    before = {
        t.task_uuid: t
        for t in db.session.scalars(
            select(HumanTask).where(HumanTask.status == "ready", HumanTask.instance_id == instance_of("nva").id)
        )
    }
    assert [t.step for t in before.values()] == ["review"]
    v2 = versions.publish(_renamed_review(), note="đổi mã bước nhận xét")
    db.session.commit()
    nva = instance_of("nva").id
    # without a mapping the waiting review blocks the move; with it, the dry run says where it goes
    plan = {p["id"]: p for p in designer.migration_plan(v2.id)}
    assert not plan[nva]["can_move"] and "review" in plan[nva]["blocking"]
    assert not any(p["can_move"] for p in plan.values() if "review" in p["blocking"])
    wrong = {p["id"]: p for p in designer.migration_plan(v2.id, {"review": "no_such_step"})}
    assert not wrong[nva]["can_move"] and any("no_such_step" in r["message_en"] for r in wrong[nva]["reasons"])
    # the gateway before it changed too (its flow now leads to manager_review): mapped to itself, accepted
    half = {p["id"]: p for p in designer.migration_plan(v2.id, {"review": "manager_review"})}
    assert not half[nva]["can_move"] and half[nva]["blocking"] == ["review_merge"]
    mapping = {"review": "manager_review", "review_merge": "review_merge"}
    plan = {p["id"]: p for p in designer.migration_plan(v2.id, mapping)}
    assert plan[nva]["can_move"], plan[nva]["reasons"]
    assert plan[nva]["moves"] == [
        {"element": "review", "to": "manager_review"},
        {"element": "review_merge", "to": "review_merge"},
    ]
    ttb = instance_of("ttb").id  # still in the self-evaluation: moves with or without
    assert plan[ttb]["can_move"] and plan[ttb]["moves"] == []

    # the move, through the page, in batches (one of 1 per batch here), audited
    login(client, "admin")
    page = client.get(
        f"/designer/versions/{v2.id}/migrate?map-review=manager_review&map-review_merge=review_merge"
    ).get_data(as_text=True)
    assert f'data-instance="{nva}" data-can-move="yes"' in page and "manager_review" in page
    resp = client.post(
        f"/designer/versions/{v2.id}/migrate",
        data={
            "instance": [str(nva)],
            "map-review": "manager_review",
            "map-review_merge": "review_merge",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert instance_of("nva").version_id == v2.id
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "migrated", AuditEvent.instance_id == nva)
    ).one()
    assert event.details["mapping"] == mapping and event.actor_id == user("admin").id
    batch = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migration_batch")).all()
    assert batch and batch[-1].details["moved"] == 1 and batch[-1].details["total"] == 1
    # the same task (same id, nobody re-notified), now the new activity; the manager completes it
    after = {
        t.task_uuid: t
        for t in db.session.scalars(select(HumanTask).where(HumanTask.status == "ready", HumanTask.instance_id == nva))
    }
    assert set(after) == set(before) and [t.step for t in after.values()] == ["manager_review"]
    manager = Api(client, "tptc")
    task = manager.task_for("nva", "manager_review")
    from .support import scores_for

    manager.complete(task["id"], dict(scores_for(85), days_worked=21, comment="Nhận xét"))
    assert Api(client, "gd").task_for("nva", "decision")


def test_a_repair_moves_one_instance_back_to_a_step_it_has_done_and_is_audited(client):
    hr = Api(client, "nva")
    hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD})
    self_evaluate(client, "nva")
    nva = instance_of("nva").id
    assert designer.repair_targets(nva) == ["self_evaluation"]
    with pytest.raises(Invalid):
        designer.move_instance(nva, "decision", user("admin"), "sai")
    db.session.rollback()
    with pytest.raises(Invalid):
        designer.move_instance(nva, "self_evaluation", user("admin"), "")
    db.session.rollback()
    login(client, "admin")
    page = client.get(f"/designer/instances/{nva}/move").get_data(as_text=True)
    assert 'value="self_evaluation"' in page
    resp = client.post(
        f"/designer/instances/{nva}/move",
        data={
            "element": "self_evaluation",
            "reason": "Cá nhân gửi nhầm bản tự đánh giá",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert instance_of("nva").step == "self_evaluation"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_moved")).one()
    assert {k: event.details[k] for k in ("from", "to", "reason")} == {
        "from": "review",
        "to": "self_evaluation",
        "reason": "Cá nhân gửi nhầm bản tự đánh giá",
    }
    assert event.details["reopened"][0]["step"] == "self_evaluation" and event.actor_id == user("admin").id
    assert Api(client, "nva").task_for("nva", "self_evaluation")
    review_rows = db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == nva, HumanTask.step == "review")
    ).all()
    assert all(r.status != "ready" for r in review_rows)
    self_evaluate(client, "nva")  # and the month goes on
    review(client, "tptc", "nva")


def test_version_notes_and_tags(client):
    login(client, "admin")
    version = versions.latest_published()
    page = client.get(f"/designer/versions/{version.id}").get_data(as_text=True)
    resp = client.post(
        f"/designer/versions/{version.id}/notes",
        data={
            "tags": "2030 Chi-bo, 2030",
            "notes": "Thêm bước chi bộ góp ý.\nHạn WD7.",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    version = versions.latest_published()
    assert version.tag_list == ["2030", "chi-bo"] and version.notes == "Thêm bước chi bộ góp ý.\nHạn WD7."
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "design_version_noted")).one()
    assert event.details["tags"] == "2030 chi-bo"
    page = client.get("/designer/").get_data(as_text=True)
    assert '<span class="version-tag">chi-bo</span>' in page
    resp = client.post(
        f"/designer/versions/{version.id}/notes", data={"tags": "<b>bad</b>", "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert versions.latest_published().tag_list == ["2030", "chi-bo"]  # refused, nothing changed


def test_the_migration_page_moves_batch_by_batch_with_its_progress_audited(client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).get_json()["started"] == 5
    files = versions.files_from_disk()
    files[BPMN] = files[BPMN].replace("</bpmn:definitions>", "<!-- phiên bản 2 -->\n</bpmn:definitions>")
    v2 = versions.publish(files, note="ghi chú")
    db.session.commit()
    plan = designer.migration_plan(v2.id)
    ids = sorted(p["id"] for p in plan if p["can_move"])
    assert len(ids) == 5, [(p["id"], p["reasons"]) for p in plan]
    login(client, "admin")
    page = client.get(f"/designer/versions/{v2.id}/migrate").get_data(as_text=True)
    assert 'id="migrate-form" data-batch="50"' in page and "designer-migrate.js" in page
    assert 'id="migration-bar"' in page
    token = csrf_token(page)
    headers = {"Accept": "application/json"}
    first = client.post(
        f"/designer/versions/{v2.id}/migrate",
        headers=headers,
        data={"instance": [str(i) for i in ids[:3]], "done": "0", "total": "5", "csrf_token": token},
    )
    assert first.status_code == 200 and [r["moved"] for r in first.get_json()["results"]] == [True] * 3
    second = client.post(
        f"/designer/versions/{v2.id}/migrate",
        headers=headers,
        data={"instance": [str(i) for i in ids[3:]] + ["999999"], "done": "3", "total": "6", "csrf_token": token},
    )
    results = second.get_json()["results"]
    assert [r["moved"] for r in results] == [True, True, False] and results[2]["message_en"]
    db.session.expire_all()
    from app.models import ProcessInstance

    assert {db.session.get(ProcessInstance, i).version_id for i in ids} == {v2.id}
    batches = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "migration_batch").order_by(AuditEvent.id)
    ).all()
    assert [(b.details["batch"], b.details["done"], b.details["total"], b.details["moved"]) for b in batches] == [
        (1, 3, 5, 3),
        (1, 6, 6, 2),
    ]
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migrated")).all()) == 5
    # without the JSON answer the page still refuses an empty choice with a message, never a 500
    resp = client.post(f"/designer/versions/{v2.id}/migrate", data={"csrf_token": token})
    assert resp.status_code == 200 and "Chưa chọn hồ sơ nào" in resp.get_data(as_text=True)
