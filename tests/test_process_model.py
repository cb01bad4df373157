"""The monthly_evaluation BPMN and the classification DMN, driven with the raw SpiffWorkflow engine.

Every operation runs under `frozen_at(...)` (the calendar of period 2026-10 is in the past by now, so an
unfrozen clock would fire every timer at once) and the workflow is serialized and reloaded after each
step, the way the app stores instances. Working days of November 2026: WD1 Mon 2, WD3 Wed 4 (self
evaluation), WD5 Fri 6 (review), WD8 Wed 11 (decision).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine import helpers
from app.engine.clock import frozen_at
from app.engine.helpers import wd_after, wd_before, wd_deadline
from app.engine.sandbox import SCRIPT_ENGINE, check
from app.rules.levels import level_for_total

PROCESSES = Path(__file__).resolve().parents[1] / "processes"
BPMN_FILE = PROCESSES / "monthly_evaluation.bpmn"
DMN_FILE = PROCESSES / "classification.dmn"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = "2026-10"

SUBJECT_LANE = "Người được đánh giá [subject]"
MANAGER_LANE = "Lãnh đạo trực tiếp [direct_manager]"
DECIDER_LANE = "Thủ trưởng đơn vị [decider]"

CRITERIA = [
    {"code": "I.1", "group": "I", "name": "Chính trị, tư tưởng", "max": 5},
    {"code": "I.2", "group": "I", "name": "Đạo đức, lối sống", "max": 5},
    {"code": "I.3", "group": "I", "name": "Tác phong, lề lối làm việc", "max": 5},
    {"code": "I.4", "group": "I", "name": "Ý thức tổ chức kỷ luật", "max": 5},
    {"code": "II.1", "group": "II", "name": "Khối lượng công việc", "max": 25},
    {"code": "II.2", "group": "II", "name": "Chất lượng công việc", "max": 25},
    {"code": "II.3", "group": "II", "name": "Tiến độ công việc", "max": 20},
]
SEED = {
    "period": PERIOD,
    "subject": {"username": "nva", "full_name": "Nguyễn Văn A", "position_group": "cong_chuc"},
    "criteria": CRITERIA,
    "working_days": 22,
    "opened_at": None,
    "scheme": "Hà Nội hằng tháng",
}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def scores(total_ii3: float = 15, **override) -> dict:
    """Group I full (20) + II.1 25 + II.2 25 + II.3 `total_ii3`: 85 by default."""
    s = {"I.1": 5, "I.2": 5, "I.3": 5, "I.4": 5, "II.1": 25, "II.2": 25, "II.3": total_ii3}
    s.update(override)
    return s


def form_with_total(total: float, **extra) -> dict:
    """A scored form whose score_total is `total` (85 + bonus - deductions, capped at 100)."""
    form = {"scores": scores(), "comment": "ok"}
    if total >= 85:
        form["bonus"] = total - 85
    else:
        form["deductions"] = [{"reason": "vi phạm", "points": 85 - total}]
    form.update(extra)
    return form


@pytest.fixture(scope="module")
def parsed():
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN_FILE))
    parser.add_dmn_file(str(DMN_FILE))
    return parser.get_spec("monthly_evaluation"), parser.get_subprocess_specs("monthly_evaluation")


@pytest.fixture
def outbox():
    box: list = []
    token = helpers.outbox.set(box)
    yield box
    helpers.outbox.reset(token)


class Run:
    """One instance, reloaded from JSON after every operation, as the app does."""

    def __init__(self, parsed, now: datetime):
        spec, subprocess_specs = parsed
        self.wf = BpmnWorkflow(spec, subprocess_specs, script_engine=SCRIPT_ENGINE)
        self.wf.task_tree.data.update(SEED)
        self.step(now)

    def reload(self):
        self.wf = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(self.wf))
        self.wf.script_engine = SCRIPT_ENGINE

    def step(self, now: datetime):
        """What the timer poller does: refresh timers and run the engine at `now`."""
        with frozen_at(now):
            self.wf.refresh_timers()
            self.wf.do_engine_steps()
        self.reload()

    def ready(self) -> list[str]:
        return sorted(t.task_spec.name for t in self.wf.get_tasks(state=TaskState.READY, manual=True))

    def task(self, name: str, state=TaskState.READY):
        return self.wf.get_next_task(state=state, spec_name=name)

    def complete(self, name: str, form: dict, now: datetime):
        task = self.task(name)
        assert task is not None, f"{name} is not READY (ready: {self.ready()})"
        with frozen_at(now):
            task.task_spec.add_data_from_form(task, form)
            task.run()
            self.wf.do_engine_steps()
        self.reload()

    def send_appeal(self, payload: dict, now: datetime):
        with frozen_at(now):
            self.wf.send_event(BpmnEvent(MessageEventDefinition("appeal"), payload=payload))
            self.wf.do_engine_steps()
        self.reload()

    def data(self, name: str) -> dict:
        """Data of the newest task of spec `name` that is READY or COMPLETED."""
        tasks = [t for t in self.wf.get_tasks(spec_name=name) if t.state in (TaskState.READY, TaskState.COMPLETED)]
        assert tasks, f"no READY/COMPLETED task {name}"
        return max(tasks, key=lambda t: t.last_state_change).data

    def states(self, name: str) -> list[str]:
        return [TaskState.get_name(t.state) for t in self.wf.get_tasks(spec_name=name)]


def to_publication(parsed, review_form: dict, decision: dict | None = None) -> Run:
    run = Run(parsed, at(2))
    run.complete("self_evaluation", {"scores": scores(), "comment": "tự đánh giá"}, at(3, 10))
    run.complete("review", review_form, at(5, 10))
    assert run.ready() == ["decision"]
    run.complete("decision", decision or {"level": run.data("decision")["result"]["level"]}, at(10, 10))
    return run


# ---------------------------------------------------------------- parsing, lanes, DI, lint


def test_parses_with_validation_and_lanes(parsed):
    spec, _ = parsed
    names = spec.task_specs
    for bpmn_id, lane in {
        "self_evaluation": SUBJECT_LANE,
        "review": MANAGER_LANE,
        "review_by_decider": DECIDER_LANE,
        "decision": DECIDER_LANE,
        "appeal_decision": DECIDER_LANE,
        "publish": DECIDER_LANE,
        "lock": DECIDER_LANE,
    }.items():
        assert names[bpmn_id].lane == lane
    for bpmn_id, (form, variable) in {
        "self_evaluation": ("self_evaluation.json", "self_evaluation"),
        "review": ("review.json", "review"),
        "review_by_decider": ("review.json", "review"),
        "decision": ("decision.json", "decision"),
        "appeal_decision": ("appeal_decision.json", "appeal_decision"),
    }.items():
        ts = names[bpmn_id]
        assert ts.extensions["properties"]["formJsonSchemaFilename"] == form
        assert ts.variable == variable
        assert ts.extensions["instructionsForEndUser"].strip()
    # every task spec that comes from the diagram sits in a lane
    internal = {"Start", "End", "monthly_evaluation.EndJoin"}
    for name, ts in names.items():
        if name not in internal and not name.endswith((".BoundaryEventSplit", ".BoundaryEventJoin")):
            assert ts.lane is not None, name


NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}


def test_every_element_has_di():
    root = etree.parse(str(BPMN_FILE)).getroot()
    process = root.find("bpmn:process", NS)
    flow_elements = {el.get("id") for el in process if el.get("id") and not el.tag.endswith("laneSet")}
    lanes = {el.get("id") for el in process.iterfind("bpmn:laneSet/bpmn:lane", NS)}
    participants = {el.get("id") for el in root.iterfind("bpmn:collaboration/bpmn:participant", NS)}
    shapes = {el.get("bpmnElement"): el for el in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {el.get("bpmnElement"): el for el in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    flows = {el.get("id") for el in process.iterfind("bpmn:sequenceFlow", NS)}
    assert flows and flows <= set(edges)
    assert (flow_elements - flows) | lanes | participants <= set(shapes)
    assert flow_elements <= set(shapes) | set(edges)
    for el in shapes.values():
        assert el.find("dc:Bounds", NS) is not None
    for el in edges.values():
        assert len(el.findall("di:waypoint", NS)) >= 2
    # every flow node is referenced by exactly one lane
    refs = [r.text for r in process.iterfind("bpmn:laneSet/bpmn:lane/bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(flow_elements - flows)


def test_every_expression_compiles_in_the_sandbox():
    root = etree.parse(str(BPMN_FILE)).getroot()
    for script in root.iterfind(".//bpmn:script", NS):
        assert check(script.text, "exec") == [], script.getparent().get("id")
    for expr in root.iterfind(".//bpmn:conditionExpression", NS):
        assert check(expr.text, "eval") == [], expr.getparent().get("id")
    for expr in root.iterfind(".//bpmn:timeDate", NS):
        assert check(expr.text, "eval") == [], expr.getparent().getparent().get("id")


# ---------------------------------------------------------------- g) the DMN


@pytest.mark.parametrize(
    "total,level", [(100, "A"), (90, "A"), (89.5, "B"), (70, "B"), (69.5, "C"), (50, "C"), (49.5, "D"), (0, "D")]
)
def test_classification_dmn(parsed, total, level):
    spec, _ = parsed
    engine = spec.task_specs["classify"].dmnEngine
    fake_task = SimpleNamespace(data={"total": total}, workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
    assert engine.result(fake_task) == {"score_level": level}
    assert level_for_total(total) == level


# ---------------------------------------------------------------- a) happy path


def test_happy_path(parsed, outbox):
    run = Run(parsed, at(2))
    assert run.ready() == ["self_evaluation"]
    data = run.data("self_evaluation")
    assert data["revision_count"] == 0 and data["self_evaluation_missed"] is False
    assert data["self_evaluation_due"] == wd_deadline(PERIOD, 3) == "2026-11-04T23:59:59+07:00"
    assert data["review_due"] == wd_deadline(PERIOD, 5) == "2026-11-06T23:59:59+07:00"
    assert data["decision_due"] == wd_deadline(PERIOD, 8) == "2026-11-11T23:59:59+07:00"
    assert run.task("self_evaluation").task_spec.lane == SUBJECT_LANE

    run.complete("self_evaluation", {"scores": scores(), "comment": "tự đánh giá"}, at(3, 10))
    assert run.ready() == ["review"]
    review_data = run.data("review")
    assert review_data["self_evaluation"]["total"] == 85
    assert review_data["self_evaluation_missed"] is False
    assert run.task("review").task_spec.lane == MANAGER_LANE
    assert run.states("self_evaluation_reminder") == ["CANCELLED"]

    run.complete("review", {"scores": scores(), "comment": "đạt", "days_worked": 22}, at(5, 10))
    assert run.ready() == ["decision"]
    assert run.task("decision").task_spec.lane == DECIDER_LANE
    d = run.data("decision")
    assert d["total"] == 85 and d["score_level"] == "B"
    assert d["result"]["level"] == "B" and d["result"]["total"] == 85

    run.complete("decision", {"level": "B"}, at(10, 10))
    assert run.ready() == []
    pub = run.data("publish")
    assert pub["published_at"] == "2026-11-10T10:00:00+07:00"
    assert pub["appeal_due"] == wd_after(pub["published_at"], 5) == "2026-11-17T23:59:59+07:00"
    assert not run.wf.is_completed()

    run.step(at(17, 12))  # window still open
    assert not run.wf.is_completed()
    run.step(at(18, 0, 5))  # the appeal window closes
    assert run.wf.is_completed()
    final = run.wf.data
    assert final["locked"] is True and final["locked_at"] == "2026-11-18T00:05:00+07:00"
    assert final["result"]["level"] == "B" and final["result"]["total"] == 85
    assert "appeal" not in final
    assert run.states("appeal_window_closed") == ["COMPLETED"]
    assert "COMPLETED" not in run.states("appeal_received")
    assert [m["kind"] for m in outbox] == ["published"]


# ---------------------------------------------------------------- b) return for revision, once


def test_return_for_revision_once(parsed, outbox):
    run = Run(parsed, at(2))
    run.complete("self_evaluation", {"scores": scores(), "comment": "lần 1"}, at(3, 10))
    run.complete(
        "review", {"scores": scores(), "return_for_revision": True, "revision_note": "Bổ sung minh chứng"}, at(4, 10)
    )
    assert run.ready() == ["self_evaluation"]
    d = run.data("self_evaluation")
    assert d["revision_count"] == 1 and d["revision_note"] == "Bổ sung minh chứng"
    assert d["self_evaluation_due"] == "2026-11-04T23:59:59+07:00"  # WD3 not passed: unchanged
    assert {"kind": "returned", "step": "self_evaluation"} in outbox

    run.complete("self_evaluation", {"scores": scores(20), "comment": "lần 2"}, at(4, 15))
    assert run.ready() == ["review"]
    assert run.data("review")["self_evaluation"] == {"scores": scores(20), "comment": "lần 2", "total": 90}

    # a second return is ignored: the flow goes on to compute_result and the decision
    run.complete("review", {"scores": scores(), "return_for_revision": True, "revision_note": "lại"}, at(5, 10))
    assert run.ready() == ["decision"]
    d = run.data("decision")
    assert d["revision_count"] == 1 and d["result"]["level"] == "B"
    assert run.states("compute_result") == ["COMPLETED"]


def test_late_return_moves_the_deadlines(parsed):
    run = Run(parsed, at(2))
    run.complete("self_evaluation", {"scores": scores()}, at(3, 10))
    run.complete("review", {"scores": scores(), "return_for_revision": True, "revision_note": "x"}, at(5, 10))
    d = run.data("self_evaluation")
    assert d["self_evaluation_due"] == wd_after("2026-11-05T10:00:00+07:00", 1) == "2026-11-06T23:59:59+07:00"
    assert d["review_due"] == "2026-11-10T23:59:59+07:00"
    run.step(at(6, 9))  # past the original WD3, before the new deadline
    assert run.ready() == ["self_evaluation"]
    run.complete("self_evaluation", {"scores": scores()}, at(6, 10))
    run.step(at(9, 9))  # past the original WD5 review deadline: no escalation
    assert run.ready() == ["review"]


# ---------------------------------------------------------------- c) self-evaluation deadline


def test_self_evaluation_deadline(parsed, outbox):
    run = Run(parsed, at(2))
    run.step(at(4, 23, 59))
    assert run.ready() == ["self_evaluation"]
    run.step(at(5, 0, 1))
    assert run.ready() == ["review"]
    assert run.states("self_evaluation") == ["CANCELLED"]
    d = run.data("review")
    assert d["self_evaluation_missed"] is True and "self_evaluation" not in d
    assert run.task("review").task_spec.lane == MANAGER_LANE
    # the review can still be done without a self-evaluation
    run.complete("review", {"scores": scores(), "comment": "không tự đánh giá"}, at(5, 10))
    assert run.ready() == ["decision"]
    assert run.data("decision")["self_evaluation_missed"] is True


# ---------------------------------------------------------------- d) reminder


def test_self_evaluation_reminder_fires_once(parsed, outbox):
    run = Run(parsed, at(2))
    assert wd_before(wd_deadline(PERIOD, 3), 1) == "2026-11-03T23:59:59+07:00"
    run.step(at(3, 23, 0))
    assert outbox == []
    run.step(at(4, 8))
    assert outbox == [{"kind": "reminder", "step": "self_evaluation"}]
    assert run.ready() == ["self_evaluation"]
    assert run.states("self_evaluation_remind") == ["COMPLETED"]
    run.step(at(4, 12))
    assert outbox == [{"kind": "reminder", "step": "self_evaluation"}]
    assert run.ready() == ["self_evaluation"]
    run.complete("self_evaluation", {"scores": scores()}, at(4, 13))
    assert run.ready() == ["review"]


# ---------------------------------------------------------------- e) review deadline -> decider


def test_review_deadline_escalates_to_decider(parsed, outbox):
    run = Run(parsed, at(2))
    run.complete("self_evaluation", {"scores": scores()}, at(3, 10))
    run.step(at(6, 12))
    assert outbox == [{"kind": "reminder", "step": "review"}]
    run.step(at(7, 0, 5))
    assert run.ready() == ["review_by_decider"]
    task = run.task("review_by_decider")
    assert task.task_spec.lane == DECIDER_LANE
    assert task.data["review_escalated"] is True
    assert run.states("review") == ["CANCELLED"]
    assert {"kind": "escalation", "step": "review"} in outbox
    run.complete("review_by_decider", {"scores": scores(), "comment": "thủ trưởng chấm thay"}, at(9, 10))
    assert run.ready() == ["decision"]
    assert run.data("decision")["result"]["level"] == "B"


# ---------------------------------------------------------------- f) appeal


def test_appeal_amended(parsed, outbox):
    run = to_publication(parsed, {"scores": scores(), "days_worked": 22})
    run.send_appeal({"reason": "Chưa tính điểm thưởng sáng kiến", "by": "nva"}, at(12, 9))
    assert run.ready() == ["appeal_decision"]
    task = run.task("appeal_decision")
    assert task.task_spec.lane == DECIDER_LANE
    assert task.data["appeal"] == {"reason": "Chưa tính điểm thưởng sáng kiến", "by": "nva"}
    assert task.data["appeal_decision_due"] == "2026-11-19T23:59:59+07:00"
    assert run.states("appeal_received") == ["COMPLETED"]
    assert "COMPLETED" not in run.states("appeal_window_closed")

    run.step(at(18, 9))  # the appeal window timer no longer applies
    assert run.ready() == ["appeal_decision"]
    assert {"kind": "reminder", "step": "appeal_decision"} not in outbox
    run.step(at(19, 9))  # reminder one WD before
    assert {"kind": "reminder", "step": "appeal_decision"} in outbox
    assert run.ready() == ["appeal_decision"]

    run.complete("appeal_decision", form_with_total(92, outcome="amend", reason="Có sáng kiến"), at(19, 10))
    assert run.wf.is_completed()
    final = run.wf.data
    assert final["total"] == 92 and final["score_level"] == "A"
    assert final["result"]["total"] == 92 and final["result"]["level"] == "A"
    assert final["result"]["amended"] is True
    assert final["locked"] is True
    assert {"kind": "appeal_answered", "step": "appeal_decision"} in outbox


def test_appeal_kept(parsed, outbox):
    run = to_publication(parsed, {"scores": scores()})
    run.send_appeal({"reason": "xin xem lại"}, at(11, 9))
    run.complete("appeal_decision", {"outcome": "keep", "reason": "Đúng quy định"}, at(13, 10))
    assert run.wf.is_completed()
    final = run.wf.data
    assert final["result"]["level"] == "B" and "amended" not in final["result"]
    assert final["locked"] is True
    assert run.states("amend_total") == []
    assert {"kind": "appeal_answered", "step": "appeal_decision"} in outbox


def test_appeal_after_window_is_refused(parsed):
    run = to_publication(parsed, {"scores": scores()})
    run.step(at(18, 9))
    assert run.wf.is_completed()
    with pytest.raises(WorkflowException):
        run.send_appeal({"reason": "muộn"}, at(19, 9))


# ---------------------------------------------------------------- h) level rules


def test_attendance_rule_caps_at_c(parsed):
    run = Run(parsed, at(2))
    run.complete("self_evaluation", {"scores": scores()}, at(3, 10))
    run.complete("review", form_with_total(95, days_worked=10), at(5, 10))
    d = run.data("decision")
    assert d["total"] == 95 and d["score_level"] == "A"
    assert d["result"]["level"] == "C"
    assert [r["rule"] for r in d["result"]["rules_applied"]] == ["score", "attendance"]


def test_discipline_rule_gives_d(parsed):
    run = Run(parsed, at(2))
    run.complete("self_evaluation", {"scores": scores()}, at(3, 10))
    run.complete("review", form_with_total(95, days_worked=22, discipline=True), at(5, 10))
    d = run.data("decision")
    assert d["result"]["level"] == "D"
    assert [r["rule"] for r in d["result"]["rules_applied"]] == ["score", "discipline"]
    # the decider may not raise the level above what the rules allow
    with pytest.raises(Exception):
        run.complete("decision", {"level": "A"}, at(10, 10))


def test_decider_may_lower_the_level(parsed):
    run = to_publication(parsed, {"scores": scores()}, {"level": "C", "reason": "hạn mức"})
    result = run.data("publish")["result"]
    assert result["level"] == "C" and result["rules_applied"][-1]["rule"] == "decision"
