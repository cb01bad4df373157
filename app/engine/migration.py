"""Compare process versions, and move a running workflow onto a newer version.

`diff_versions` compares two sets of files: SpiffWorkflow's SpecDiff for what the engine runs (task
specs added, removed, changed and which attributes), plus an XML compare by element id for what a
person reads (lanes, flows, DMN rows, names) and a compare of the form files.

`check` is the dry run for one workflow (SpiffWorkflow's diff_workflow): it may move unless an
element that changed or was removed in the new version is completed or active (ready, waiting or
started) in this instance, since its history or its running state would then belong to a task that
no longer exists as it ran. `migrate` does the move (migrate_workflow re-predicts the ready and
waiting branches on the new spec, so a task inserted further down is picked up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from . import persistence, specs

BLOCKING = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
DI_NAMESPACES = (
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
)


@dataclass
class MoveCheck:
    can_move: bool
    reasons: list[dict[str, Any]] = field(default_factory=list)  # [{element, state, change, message, message_en}]
    blocking: list[str] = field(default_factory=list)
    moves: list[dict[str, Any]] = field(default_factory=list)  # [{element, to}] the mapping applies

    def to_dict(self) -> dict[str, Any]:
        return {"can_move": self.can_move, "reasons": self.reasons, "blocking": self.blocking, "moves": self.moves}


def _name(task_spec: TaskSpec) -> str:
    return str(getattr(task_spec, "bpmn_id", None) or task_spec.name)


def _state_vi(state: int) -> str:
    return {
        TaskState.COMPLETED: "đã xong",
        TaskState.READY: "đang chờ xử lý",
        TaskState.WAITING: "đang chờ",
        TaskState.STARTED: "đang chạy",
    }.get(state, str(TaskState.get_name(state)))


def check(workflow: BpmnWorkflow, new_loaded: specs.LoadedSpec, mapping: dict[str, str] | None = None) -> MoveCheck:
    """Can `workflow` (a BpmnWorkflow) move onto `new_loaded` (a LoadedSpec)? Nothing is changed.

    `mapping` (old activity id -> new activity id, as in a migration plan) lets an instance whose
    element changed or was removed move anyway: its task goes to the mapped activity of the new
    version (an element mapped to itself accepts the change). A mapping to an activity the new
    version does not have, or of another kind, is a reason not to move."""
    mapping = mapping or {}
    top, subs = diff_workflow(persistence.SERIALIZER.registry, workflow, new_loaded.spec, new_loaded.subprocess_specs)
    reasons, moves = [], {}
    for task in top.removed + top.changed:
        if not task.state & BLOCKING:
            continue
        removed = task in top.removed
        element = _name(task.task_spec)
        state = TaskState.get_name(task.state)
        if element not in mapping and _covered(task, mapping, new_loaded.spec):
            continue
        if element in mapping:
            problem = _mapping_problem(task.task_spec, mapping[element], new_loaded)
            if problem is None:
                moves[element] = mapping[element]
                continue
            reasons.append(
                {
                    "element": element,
                    "state": state,
                    "change": "mapping",
                    "message": problem[0],
                    "message_en": problem[1],
                }
            )
            continue
        reasons.append(
            {
                "element": element,
                "state": state,
                "change": "removed" if removed else "changed",
                "message": f"{element} ({_state_vi(task.state)}) đã bị {'xóa' if removed else 'sửa'} trong phiên bản mới",
                "message_en": f"{element} ({state.lower()}) was {'removed' if removed else 'changed'} in the new version",
            }
        )
    for sp_id, sp_diff in subs.items():
        sub = workflow.subprocesses.get(sp_id)
        if sp_diff is None and sub is not None and not sub.is_completed():
            reasons.append(
                {
                    "element": str(sp_id),
                    "state": "RUNNING",
                    "change": "removed",
                    "message": "Quy trình con đang chạy không còn trong phiên bản mới",
                    "message_en": "A running sub-process is not part of the new version",
                }
            )
        elif sp_diff is not None:
            for task in sp_diff.removed + sp_diff.changed:
                if task.state & BLOCKING:
                    reasons.append(
                        {
                            "element": _name(task.task_spec),
                            "state": TaskState.get_name(task.state),
                            "change": "changed",
                            "message": f"{_name(task.task_spec)} (quy trình con) đã bị sửa",
                            "message_en": f"{_name(task.task_spec)} (sub-process) changed",
                        }
                    )
    unique = {(r["element"], r["change"]): r for r in reasons}
    reasons = sorted(unique.values(), key=lambda r: r["element"])
    result = MoveCheck(not reasons, reasons, sorted({r["element"] for r in reasons}))
    result.moves = [{"element": k, "to": v} for k, v in sorted(moves.items())]
    return result


def _covered(task: SpiffTask, mapping: dict[str, str], new_spec: BpmnProcessSpec) -> bool:
    """Whether a changed task goes with a mapped activity: its boundary-event helpers
    (`review.BoundaryEventSplit`) and the boundary events attached to it, when the new version has them."""
    name = task.task_spec.name
    for old, new in mapping.items():
        if name.startswith(old + ".") and (new + name[len(old) :]) in new_spec.task_specs:
            return True
    parent = task.parent
    while parent is not None:
        pname = parent.task_spec.name
        for old in mapping:
            if pname == f"{old}.BoundaryEventSplit":
                return name in new_spec.task_specs
        if getattr(parent.task_spec, "bpmn_id", None):
            break  # stop at the nearest real activity
        parent = parent.parent
    return False


def _mapping_problem(old_spec: TaskSpec, new_id: str, new_loaded: specs.LoadedSpec) -> tuple[str, str] | None:
    new_spec = new_loaded.spec.task_specs.get(new_id)
    if new_spec is None:
        return (
            f"{_name(old_spec)} được chuyển tới {new_id}, nhưng phiên bản mới không có bước này",
            f"{_name(old_spec)} is mapped to {new_id}, which the new version does not have",
        )
    if type(new_spec).__name__ != type(old_spec).__name__:
        return (
            f"{_name(old_spec)} ({old_spec.description}) không chuyển được tới {new_id} ({new_spec.description}): "
            "khác loại bước",
            f"{_name(old_spec)} ({old_spec.description}) cannot go to {new_id} "
            f"({new_spec.description}): another kind of step",
        )
    return None


def _apply_mapping(
    diff: WorkflowDiff, workflow: BpmnWorkflow, new_spec: BpmnProcessSpec, mapping: dict[str, str]
) -> None:
    """Point the tasks of mapped activities (and their boundary-event helpers, `<id>.BoundaryEventSplit`…)
    at the mapped activity of the new spec."""
    for task in workflow.tasks.values():
        name = task.task_spec.name
        for old, new in mapping.items():
            target = None
            if name == old:
                target = new
            elif name.startswith(old + "."):
                target = new + name[len(old) :]
            if target is not None and target in new_spec.task_specs:
                diff.alignment[task] = new_spec.task_specs[target]


def migrate(workflow: BpmnWorkflow, new_loaded: specs.LoadedSpec, mapping: dict[str, str] | None = None) -> int:
    """Move `workflow` onto the new spec in place; returns the number of predicted tasks dropped.
    Call `check` first: this does not refuse."""
    top, subs = diff_workflow(persistence.SERIALIZER.registry, workflow, new_loaded.spec, new_loaded.subprocess_specs)
    if mapping:
        _apply_mapping(top, workflow, new_loaded.spec, mapping)
    dropped = migrate_workflow(top, workflow, new_loaded.spec)
    for sp_id, sp_diff in subs.items():
        sub = workflow.subprocesses.get(sp_id)
        if sp_diff is not None and sub is not None:
            dropped += migrate_workflow(sp_diff, sub, new_loaded.subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = new_loaded.subprocess_specs
    return len(dropped)


def repair_targets(workflow: BpmnWorkflow) -> list[str]:
    """Activities an instance can be moved back to: those it has completed (newest first)."""
    done = [
        t
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if getattr(t.task_spec, "bpmn_id", None) and getattr(t.task_spec, "manual", False)
    ]
    out: list[str] = []
    for task in sorted(done, key=lambda t: t.last_state_change, reverse=True):
        if task.task_spec.bpmn_id not in out:
            out.append(task.task_spec.bpmn_id)
    return out


def move_to(workflow: BpmnWorkflow, element: str) -> None:
    """Move the instance back to `element`, a step it has completed: its latest run of that step becomes
    ready again and everything after it is undone (SpiffWorkflow's reset)."""
    done = [
        t for t in workflow.get_tasks(state=TaskState.COMPLETED) if getattr(t.task_spec, "bpmn_id", None) == element
    ]
    if not done:
        raise ValueError(element)
    task = max(done, key=lambda t: t.last_state_change)
    workflow.reset_from_task_id(task.id)


# ------------------------------------------------------------------------------------------ diff
def _xml_elements(text: str) -> dict[str, dict[str, Any]]:
    """id -> {tag, name, signature} for every element with an id outside the diagram layout."""
    try:
        root = etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER) if not specs.unsafe_xml(text) else None
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for el in root.iter():
        element_id = el.get("id")
        if not isinstance(el.tag, str) or not element_id:
            continue
        if etree.QName(el).namespace in DI_NAMESPACES:
            continue
        out[element_id] = {
            "tag": etree.QName(el).localname,
            "name": el.get("name") or el.get("label") or "",
            "signature": _signature(el),
        }
    return out


def _signature(el: etree._Element) -> str:
    """The element's own content: attributes, text and children that have no id of their own."""
    parts = [
        etree.QName(el).localname,
        json.dumps(sorted(el.attrib.items()), ensure_ascii=False),
        (el.text or "").strip(),
    ]
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.get("id"):
            parts.append(f"#{child.get('id')}")
        else:
            parts.append(_signature(child))
    return "\x1f".join(parts)


def _layout(text: str) -> str:
    try:
        root = etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER) if not specs.unsafe_xml(text) else None
    except etree.XMLSyntaxError:
        return ""
    if root is None:
        return ""
    return "".join(
        etree.tostring(el, encoding="unicode")
        for el in root.iter()
        if isinstance(el.tag, str)
        and etree.QName(el).namespace in DI_NAMESPACES
        and etree.QName(el).localname in ("BPMNDiagram", "DMNDI")
    )


def diff_versions(
    old_files: dict[str, str], new_files: dict[str, str], process_id: str = specs.PROCESS_ID
) -> dict[str, Any]:
    """What changed between two versions, for people and for the engine."""
    files = []
    elements: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    for name in sorted(set(old_files) | set(new_files)):
        old, new = old_files.get(name), new_files.get(name)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        entry: dict[str, Any] = {"file": name, "status": status}
        if name.endswith((".bpmn", ".dmn")):
            a, b = _xml_elements(old or ""), _xml_elements(new or "")
            for key in sorted(set(b) - set(a)):
                elements["added"].append({"file": name, "id": key, "tag": b[key]["tag"], "name": b[key]["name"]})
            for key in sorted(set(a) - set(b)):
                elements["removed"].append({"file": name, "id": key, "tag": a[key]["tag"], "name": a[key]["name"]})
            for key in sorted(set(a) & set(b)):
                if a[key]["signature"] != b[key]["signature"]:
                    elements["changed"].append({"file": name, "id": key, "tag": b[key]["tag"], "name": b[key]["name"]})
            entry["layout_changed"] = status == "changed" and _layout(old or "") != _layout(new or "")
        elif name.endswith(".json") and old is not None and new is not None:
            try:
                a, b = json.loads(old).get("properties", {}), json.loads(new).get("properties", {})
                entry["fields"] = {
                    "added": sorted(set(b) - set(a)),
                    "removed": sorted(set(a) - set(b)),
                    "changed": sorted(k for k in set(a) & set(b) if a[k] != b[k]),
                }
            except (ValueError, AttributeError):
                pass
        files.append(entry)
    engine: dict[str, Any] | None = None
    try:
        old_spec, _ = specs.parse(old_files, process_id)
        new_spec, _ = specs.parse(new_files, process_id)
        spec_diff = SpecDiff(persistence.SERIALIZER.registry, old_spec, new_spec)
        engine = {
            "added": sorted(_name(s) for s in spec_diff.added),
            "removed": sorted(_name(s) for s in spec_diff.removed),
            "changed": sorted(
                ({"element": _name(s), "attributes": sorted(attrs)} for s, attrs in spec_diff.changed.items()),
                key=lambda c: c["element"],
            ),
        }
    except specs.SpecError as exc:
        engine = {"error": str(exc)}
    return {"files": files, "elements": elements, "engine": engine}
