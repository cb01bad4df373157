"""Nothing that would fail can be published (issue #15): static checks that know the data, an
allow-list of the elements the app runs, and a simulation of every path before publishing."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import validation
from app.services.process_design import simulate, versions

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "monthly_evaluation.bpmn"


def disk_files() -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "processes").glob("*.bpmn"))
        + sorted((ROOT / "processes").glob("*.dmn"))
        + sorted((ROOT / "forms").glob("*.json"))
    }


def lint(files):
    return validation.validate(
        files, known_roles=versions.KNOWN_ROLES, app_forms=versions.APP_FORMS, notice_kinds=versions.notice_kinds()
    )


def test_simulation_covers_every_path_of_the_shipped_process(ctx, monkeypatch):
    from flask import current_app

    # the month's work plan is part of the process wherever the deployment turns it on (the suite
    # turns it off for the other tests)
    monkeypatch.setitem(current_app.config, "WORK_PLAN_PHASE", True)
    findings, report = simulate.findings(disk_files(), "monthly_evaluation")
    assert [f.message_en for f in findings if f.severity == "error"] == []
    assert report.exhausted and report.unreached == []
    # every gateway branch and boundary timer: return for revision, the head's record, missed
    # deadlines, appeal (amended and kept) and no appeal
    for flow in (
        "to_revision",
        "revision_no",
        "flow_review_merge_review_by_decider",
        "flow_review_merge_review",
        "appeal_amend",
        "appeal_keep",
        "flow_appeal_window_closed_lock_merge",
        "flow_self_evaluation_deadline_overdue",
        "flow_review_deadline_escalate",
    ):
        assert flow in report.flows, flow


@pytest.mark.parametrize(
    "file,old,new,element",
    [
        (SHIPPED, "score_total(review, criteria)", "score_total(reviewx, criteria)", "compute_result"),
        ("classification.dmn", 'name="score_level"', 'name="score_level_unknown"', "apply_rules"),
    ],
)
def test_the_two_typos_of_the_issue_cannot_be_published(client, file, old, new, element):
    from .test_designer import json_token, login, new_draft, publish, put_file

    login(client, "admin")
    draft_id = new_draft(client, "typo")
    text = client.get(f"/designer/drafts/{draft_id}/files/{file}").get_data(as_text=True)
    assert old in text
    out = put_file(client, draft_id, file, text.replace(old, new))
    assert ("name_unset", element) in {(f["code"], f["element"]) for f in out["findings"] if f["severity"] == "error"}
    model = client.get(f"/designer/drafts/{draft_id}/model.json").get_json()
    assert element in {f["element"] for f in model["findings"]}  # drawn on the diagram
    before = versions.latest_published().id
    resp = publish(client, draft_id, "typo")
    # refused: back to the draft's page (post/redirect/get), the element named there
    assert resp.status_code == 302 and f"/designer/drafts/{draft_id}" in resp.headers["Location"]
    assert element in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert versions.latest_published().id == before
    assert json_token(client, draft_id)


def test_the_static_checks_know_the_data():
    files = disk_files()
    checks = {
        "working day 99": (
            SHIPPED,
            "wd_deadline(period, 5, opened_at)",
            "wd_deadline(period, 99, opened_at)",
            ("working_days", "init"),
        ),
        "a form field that does not exist": (
            SHIPPED,
            'review.get("return_for_revision")',
            'review.get("return_for_revisio")',
            ("form_field_unknown", "to_revision"),
        ),
        "a name set on one path only": (
            SHIPPED,
            "self_evaluation_missed = True",
            "self_evaluation_missed = True\nlate_note = 1",
            None,
        ),
        "a reminder for a step that does not exist": (
            SHIPPED,
            'notify("reminder", "review")',
            'notify("reminder", "reviw")',
            ("notice_step", "review_remind"),
        ),
        "a notice the app does not have": (
            SHIPPED,
            'notify("returned", "self_evaluation")',
            'notify("return", "self_evaluation")',
            ("notice_kind", "revision"),
        ),
        "a role that does not resolve": (
            SHIPPED,
            'same_holder("direct_manager", "decider")',
            'same_holder("direct_manager", "decidr")',
            ("role_unknown", "flow_review_merge_review_by_decider"),
        ),
        "a hit policy the engine does not apply": (
            "classification.dmn",
            'hitPolicy="UNIQUE"',
            'hitPolicy="PRIORITY"',
            ("dmn_hit_policy", "classification"),
        ),
        "a form stored over the month's criteria": (
            SHIPPED,
            "<spiffworkflow:variableName>review</spiffworkflow:variableName>",
            "<spiffworkflow:variableName>criteria</spiffworkflow:variableName>",
            ("variable_name", "review"),
        ),
        "a DMN input nobody supplies": (
            "classification.dmn",
            "<text>total</text>",
            "<text>totals</text>",
            ("name_unset", "classify"),
        ),
    }
    for label, (file, old, new, expected) in checks.items():
        changed = dict(files)
        assert old in changed[file], label
        changed[file] = changed[file].replace(old, new)
        errors = {(f.code, f.element) for f in validation.errors(lint(changed))}
        if expected:
            assert expected in errors, (label, errors)
        else:
            assert errors == set(), (label, errors)
    # read on a path where it was never set: lock reads late_note, set only when the self-evaluation is late
    changed = dict(files)
    changed[SHIPPED] = (
        changed[SHIPPED]
        .replace("self_evaluation_missed = True", "self_evaluation_missed = True\nlate_note = 1")
        .replace("locked = True", "locked = late_note")
    )
    findings = [f for f in validation.errors(lint(changed)) if f.code == "name_unset"]
    assert [f.element for f in findings] == ["lock"] and "some path" in findings[0].message_en


def test_a_runtime_failure_only_the_simulation_sees_blocks_publishing(ctx):
    files = disk_files()
    # a division by zero when the appeal is amended: no static check can see it, the appeal path does
    files[SHIPPED] = files[SHIPPED].replace(
        "amended_total = score_total(appeal_decision, criteria)",
        "amended_total = score_total(appeal_decision, criteria) / 0",
    )
    assert validation.errors(lint(files)) == []
    findings, report = simulate.findings(files, "monthly_evaluation")
    errors = [f for f in findings if f.severity == "error"]
    assert errors and errors[0].element == "amend_total", findings
    assert "appeal_received" in errors[0].message_en and "ZeroDivisionError" in errors[0].message_en


def _with_unit_test(bpmn: str, task: str, test_id: str, given: dict, expected: dict) -> str:
    import json as _json
    from lxml import etree

    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    }
    spiff = "{%s}" % ns["spiffworkflow"]
    root = etree.fromstring(bpmn.encode())
    el = root.find(f".//bpmn:scriptTask[@id='{task}']", ns)
    ext = el.find("bpmn:extensionElements", ns)
    if ext is None:
        ext = etree.Element("{%s}extensionElements" % ns["bpmn"])
        el.insert(0, ext)
    tests = ext.find("spiffworkflow:unitTests", ns)
    if tests is None:
        tests = etree.SubElement(ext, spiff + "unitTests")
    test = etree.SubElement(tests, spiff + "unitTest", id=test_id)
    etree.SubElement(test, spiff + "inputJson").text = _json.dumps(given)
    etree.SubElement(test, spiff + "expectedOutputJson").text = _json.dumps(expected)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def test_script_unit_tests_run_on_validate():
    files = disk_files()
    files[SHIPPED] = _with_unit_test(
        files[SHIPPED], "self_evaluation_overdue", "missed_is_set", {}, {"self_evaluation_missed": True}
    )
    files[SHIPPED] = _with_unit_test(
        files[SHIPPED],
        "revision",
        "counts_and_keeps_the_deadline",
        {
            "revision_count": 0,
            "review": {"revision_note": "Bổ sung"},
            "self_evaluation_due": "2999-01-01T17:00:00+07:00",
            "review_due": "2999-01-02T17:00:00+07:00",
        },
        {
            "revision_count": 1,
            "review": {"revision_note": "Bổ sung"},
            "revision_note": "Bổ sung",
            "self_evaluation_due": "2999-01-01T17:00:00+07:00",
            "review_due": "2999-01-02T17:00:00+07:00",
        },
    )
    assert validation.errors(lint(files)) == []  # the XSD takes them and both pass
    wrong = _with_unit_test(
        files[SHIPPED], "self_evaluation_overdue", "claims_false", {}, {"self_evaluation_missed": False}
    )
    errors = [f for f in validation.errors(lint(dict(files, **{SHIPPED: wrong})))]
    assert [(f.code, f.element) for f in errors] == [("script_test_failed", "self_evaluation_overdue")]
    assert "claims_false" in errors[0].message_en and "false ≠ true" in errors[0].message_en
    failing = _with_unit_test(files[SHIPPED], "revision", "no_review", {"revision_count": 0}, {})
    errors = [f for f in validation.errors(lint(dict(files, **{SHIPPED: failing})))]
    assert [(f.code, f.element) for f in errors] == [("script_test_failed", "revision")]
    assert "NameError" in errors[0].message_en


def test_the_notices_a_script_may_ask_for_are_the_ones_the_app_sends(ctx, monkeypatch):
    from app.services.evaluation import instances

    assert {"reminder", "escalation", "published", "returned"} <= versions.notice_kinds()
    # a notice the application learns to send is accepted at once
    files = disk_files()
    files[SHIPPED] = files[SHIPPED].replace(
        'notify("returned", "self_evaluation")', 'notify("sent_back", "self_evaluation")'
    )
    assert [f.code for f in versions.validate(files) if f.severity == "error"] == ["notice_kind"]
    monkeypatch.setitem(instances.NOTIFY_TEXT, "sent_back", "{period}")
    assert [f.code for f in versions.validate(files) if f.severity == "error"] == []


def test_instructions_that_show_a_name_nobody_sets_are_flagged_as_advice():
    files = disk_files()
    files[SHIPPED] = files[SHIPPED].replace(
        "**{{ subject.full_name }}** kỳ **{{ period }}**", "**{{ subject.full_name }}** kỳ **{{ perod }}**", 1
    )
    findings = lint(files)
    assert validation.errors(findings) == []
    assert [(f.code, f.element) for f in findings] == [("instructions_name", "review")]
    assert "perod" in findings[0].message_en
    files = disk_files()
    files[SHIPPED] = files[SHIPPED].replace("{{ period }}", "{{ period }", 1)
    assert [f.code for f in lint(files)] == ["instructions_template"]


def test_instructions_the_app_would_refuse_to_run_are_flagged_before_publishing():
    """A template the task page would show as written (work without bound: a loop in a loop, a
    filter that widens text) is said at validation, on its step, as advice: the month goes on."""
    files = disk_files()
    files[SHIPPED] = files[SHIPPED].replace(
        "**{{ subject.full_name }}** kỳ **{{ period }}**",
        "**{{ subject.full_name }}** kỳ **{{ period | center(999999999) }}**",
        1,
    )
    findings = versions.validate(files)
    assert validation.errors(findings) == []
    [refused] = [f for f in findings if f.code == "instructions_refused"]
    assert refused.element == "review" and "center" in refused.message_en and "center" in refused.message
    assert "shown as written" in refused.message_en
    files = disk_files()
    files[SHIPPED] = files[SHIPPED].replace(
        "**{{ period }}**", "{% for a in [1] %}{% for b in [2] %}x{% endfor %}{% endfor %}", 1
    )
    assert [f.code for f in versions.validate(files)] == ["instructions_refused"]
    assert not [f for f in versions.validate(disk_files()) if f.code == "instructions_refused"]
