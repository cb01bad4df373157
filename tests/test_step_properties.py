"""Steps described by the process: each user task's properties (stepStatus, stepOrder, stepScores,
stepDecides, stepTitle) tell the application what the step means; validation refuses a task whose
properties are missing or wrong, naming the element."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.engine import specs, steps as engine_steps, validation
from app.services.evaluation import steps, tasks
from app.services.process_design import versions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "designer"

# What the Python maps said before the process carried the properties (STATUS_BY_STEP, STEP_NUMBER,
# SCORING_STEP, the "decision" checks, the steps _prefill_scores served).
BEFORE_STATUS = {
    "self_evaluation": "self_evaluation",
    "review": "review",
    "review_by_decider": "review",
    "decision": "decision",
    "appeal_decision": "appeal",
}
BEFORE_NUMBER = {"self_evaluation": 1, "review": 2, "review_by_decider": 2, "decision": 3, "appeal_decision": 4}
# the work plan's steps (issue #14), numbered with the person's first step
PLAN_STATUS = {"work_plan": "planning", "plan_approval": "plan_approval"}


def _disk_files() -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "processes").glob("*.bpmn"))
        + sorted((ROOT / "processes").glob("*.dmn"))
        + sorted((ROOT / "forms").glob("*.json"))
    }


def _shipped() -> dict[str, engine_steps.StepInfo]:
    files = _disk_files()
    spec, subs = specs.parse(files)
    return specs.loaded_from(spec, subs, files).steps


def test_the_shipped_steps_mean_what_the_python_maps_said():
    shipped = _shipped()
    # the work plan's steps (issue #14) come first, numbered with the person's first step
    assert {s: i.status for s, i in shipped.items()} == dict(BEFORE_STATUS, **PLAN_STATUS)
    assert {s: i.order for s, i in shipped.items()} == dict(BEFORE_NUMBER, work_plan=1, plan_approval=1)
    assert engine_steps.count(shipped) == 4
    assert sorted(s for s, i in shipped.items() if i.decides) == ["decision"]
    assert sorted(s for s, i in shipped.items() if i.scores) == [
        "appeal_decision",
        "review",
        "review_by_decider",
        "self_evaluation",
    ]
    assert shipped["review_by_decider"].role == "decider" and shipped["review"].role == "direct_manager"
    assert shipped["decision"].title == "Thủ trưởng quyết định"


def test_a_scoring_step_starts_from_the_scoring_step_before_it():
    shipped = _shipped()
    data = {"self_evaluation": {"scores": {"c1": 9}}, "review": {"scores": {"c1": 7}}}
    assert engine_steps.prefill_source(shipped, "review", data) == {"scores": {"c1": 9}}
    assert engine_steps.prefill_source(shipped, "review_by_decider", data) == {"scores": {"c1": 9}}
    assert engine_steps.prefill_source(shipped, "appeal_decision", data) == {"scores": {"c1": 7}}
    assert engine_steps.prefill_source(shipped, "self_evaluation", data) is None  # nothing before it
    assert engine_steps.prefill_source(shipped, "decision", data) is None  # does not score
    assert engine_steps.prefill_source(shipped, "review", {"self_evaluation": None}) is None  # missed


def test_the_record_reads_each_answer_where_the_step_that_means_it_stored_it():
    shipped = _shipped()
    data = {
        "self_evaluation": {"total": 80},
        "review": {"total": 85},
        "decision": {"level": "B"},
        "appeal_decision": {"scores": {}},
        "result": {"level": "B"},
    }
    assert engine_steps.answer(shipped, data, "self_evaluation") == {"total": 80}
    assert engine_steps.answer(shipped, data, "review") == {"total": 85}  # review or the head's own
    assert engine_steps.answer(shipped, data, "appeal") == {"scores": {}}
    assert engine_steps.answer(shipped, data, decides=True) == {"level": "B"}
    assert engine_steps.answer(shipped, {"review": "not a form"}, "review") is None
    assert engine_steps.answer(shipped, data, "decision") is None  # no scoring step means it


def test_the_service_answers_from_the_published_version(ctx):
    assert steps.deciding() == ["decision"]
    assert steps.decider_scoring() == ["review_by_decider"]
    assert steps.number("review") == (2, 4) and steps.number("nonexistent") is None
    assert [s for s, _ in steps.choices()] == [
        "work_plan",
        "plan_approval",
        "self_evaluation",
        "review",
        "review_by_decider",
        "decision",
        "appeal_decision",
    ]
    version = versions.latest_published()
    assert {s: i.status for s, i in steps.of(version).items()} == dict(BEFORE_STATUS, **PLAN_STATUS)
    task = SimpleNamespace(step="review_by_decider", title="Thủ trưởng nhận xét, chấm điểm")
    assert tasks.step_label(task, "vi") == "Bước 2/4: Thủ trưởng nhận xét, chấm điểm"


def test_a_version_published_before_the_properties_borrows_the_shipped_ones(ctx):
    files = _disk_files()
    bare = re.sub(
        r'\s*<spiffworkflow:property name="step[A-Za-z]+" value="[^"]*" />', "", files["monthly_evaluation.bpmn"]
    )
    assert "stepStatus" not in bare
    old = SimpleNamespace(
        id=987654,
        sha256="before-step-properties",
        process_key=specs.PROCESS_ID,
        files=dict(files, **{"monthly_evaluation.bpmn": bare}),
    )
    assert specs.load(old).steps == {}  # nothing of its own ...
    borrowed = steps.of(old)  # ... so the shipped process speaks for it
    assert {s: i.status for s, i in borrowed.items()} == dict(BEFORE_STATUS, **PLAN_STATUS)
    assert {s: i.order for s, i in borrowed.items()} == dict(BEFORE_NUMBER, work_plan=1, plan_approval=1)


def _minimal_with(props: dict[str, str | None]) -> dict[str, str]:
    bpmn = (FIXTURES / "minimal.bpmn").read_text(encoding="utf-8")
    for name, value in props.items():
        line = re.compile(rf'\s*<spiffworkflow:property name="{name}" value="[^"]*" />')
        bpmn = line.sub("", bpmn)
        if value is not None:
            bpmn = bpmn.replace(
                '<spiffworkflow:property name="formJsonSchemaFilename" value="comment.json" />',
                '<spiffworkflow:property name="formJsonSchemaFilename" value="comment.json" />'
                f'<spiffworkflow:property name="{name}" value="{value}" />',
            )
    return {"minimal.bpmn": bpmn, "comment.json": (FIXTURES / "comment.json").read_text(encoding="utf-8")}


def test_the_minimal_process_with_its_properties_has_no_step_finding():
    findings = validation.validate(_minimal_with({}))
    assert [f for f in findings if f.code == "step_property"] == []


@pytest.mark.parametrize(
    "props,words",
    [
        ({"stepStatus": None}, "stepStatus"),
        ({"stepStatus": "published"}, "published"),
        ({"stepStatus": "Review"}, "Review"),
        ({"stepOrder": None}, "stepOrder"),
        ({"stepOrder": "two"}, "two"),
        ({"stepOrder": "0"}, "0"),
        ({"stepOrder": "1.5"}, "1.5"),
        ({"stepScores": "yes"}, "stepScores"),
        ({"stepDecides": "1"}, "stepDecides"),
    ],
    ids=[
        "status missing",
        "status unknown",
        "status case",
        "order missing",
        "order word",
        "order zero",
        "order fraction",
        "scores not boolean",
        "decides not boolean",
    ],
)
def test_validation_refuses_a_step_with_a_bad_property(props, words):
    findings = validation.validate(_minimal_with(props))
    refused = [f for f in validation.errors(findings) if f.code == "step_property"]
    assert [(f.element, f.file) for f in refused] == [("ask", "minimal.bpmn")]
    assert words in refused[0].message and words in refused[0].message_en
    assert refused[0].line is not None


@pytest.mark.parametrize("props,field", [({"stepScores": "true"}, "scores"), ({"stepDecides": "true"}, "level")])
def test_a_step_that_scores_or_decides_needs_the_field_the_application_reads(props, field):
    refused = [f for f in validation.errors(validation.validate(_minimal_with(props))) if f.code == "step_property"]
    assert [f.element for f in refused] == ["ask"]
    assert f"“{field}”" in refused[0].message and "comment.json" in refused[0].message_en


def test_a_step_refused_for_its_properties_cannot_be_published(ctx):
    files = _minimal_with({"stepStatus": "published"})
    with pytest.raises(versions.ValidationFailed):
        versions.publish(files, note="bad step")
