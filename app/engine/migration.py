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

from lxml import etree
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from . import persistence, specs

BLOCKING = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
DI_NAMESPACES = ("http://www.omg.org/spec/BPMN/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
                 "http://www.omg.org/spec/DMN/20180521/DMNDI/")


@dataclass
class MoveCheck:
    can_move: bool
    reasons: list[dict] = field(default_factory=list)     # [{element, state, change, message, message_en}]
    blocking: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"can_move": self.can_move, "reasons": self.reasons, "blocking": self.blocking}


def _name(task_spec) -> str:
    return getattr(task_spec, "bpmn_id", None) or task_spec.name


def _state_vi(state: int) -> str:
    return {TaskState.COMPLETED: "đã xong", TaskState.READY: "đang chờ xử lý", TaskState.WAITING: "đang chờ",
            TaskState.STARTED: "đang chạy"}.get(state, TaskState.get_name(state))


def check(workflow, new_loaded) -> MoveCheck:
    """Can `workflow` (a BpmnWorkflow) move onto `new_loaded` (a LoadedSpec)? Nothing is changed."""
    top, subs = diff_workflow(persistence.SERIALIZER.registry, workflow, new_loaded.spec, new_loaded.subprocess_specs)
    reasons = []
    for task in top.removed + top.changed:
        if not task.state & BLOCKING:
            continue
        removed = task in top.removed
        element = _name(task.task_spec)
        state = TaskState.get_name(task.state)
        reasons.append({
            "element": element, "state": state, "change": "removed" if removed else "changed",
            "message": f"{element} ({_state_vi(task.state)}) đã bị {'xóa' if removed else 'sửa'} trong phiên bản mới",
            "message_en": f"{element} ({state.lower()}) was {'removed' if removed else 'changed'} in the new version",
        })
    for sp_id, sp_diff in subs.items():
        sub = workflow.subprocesses.get(sp_id)
        if sp_diff is None and sub is not None and not sub.is_completed():
            reasons.append({"element": str(sp_id), "state": "RUNNING", "change": "removed",
                            "message": "Quy trình con đang chạy không còn trong phiên bản mới",
                            "message_en": "A running sub-process is not part of the new version"})
        elif sp_diff is not None:
            for task in sp_diff.removed + sp_diff.changed:
                if task.state & BLOCKING:
                    reasons.append({"element": _name(task.task_spec), "state": TaskState.get_name(task.state),
                                    "change": "changed", "message": f"{_name(task.task_spec)} (quy trình con) đã bị sửa",
                                    "message_en": f"{_name(task.task_spec)} (sub-process) changed"})
    unique = {(r["element"], r["change"]): r for r in reasons}
    reasons = sorted(unique.values(), key=lambda r: r["element"])
    return MoveCheck(not reasons, reasons, sorted({r["element"] for r in reasons}))


def migrate(workflow, new_loaded) -> int:
    """Move `workflow` onto the new spec in place; returns the number of predicted tasks dropped.
    Call `check` first: this does not refuse."""
    top, subs = diff_workflow(persistence.SERIALIZER.registry, workflow, new_loaded.spec, new_loaded.subprocess_specs)
    dropped = migrate_workflow(top, workflow, new_loaded.spec)
    for sp_id, sp_diff in subs.items():
        sub = workflow.subprocesses.get(sp_id)
        if sp_diff is not None and sub is not None:
            dropped += migrate_workflow(sp_diff, sub, new_loaded.subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = new_loaded.subprocess_specs
    return len(dropped)


# ------------------------------------------------------------------------------------------ diff
def _xml_elements(text: str) -> dict[str, dict]:
    """id -> {tag, name, signature} for every element with an id outside the diagram layout."""
    try:
        root = etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER) if not specs.unsafe_xml(text) else None
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return {}
    out = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        if etree.QName(el).namespace in DI_NAMESPACES:
            continue
        out[el.get("id")] = {"tag": etree.QName(el).localname, "name": el.get("name") or el.get("label") or "",
                             "signature": _signature(el)}
    return out


def _signature(el) -> str:
    """The element's own content: attributes, text and children that have no id of their own."""
    parts = [etree.QName(el).localname, json.dumps(sorted(el.attrib.items()), ensure_ascii=False),
             (el.text or "").strip()]
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
    return "".join(etree.tostring(el, encoding="unicode") for el in root.iter()
                   if isinstance(el.tag, str) and etree.QName(el).namespace in DI_NAMESPACES
                   and etree.QName(el).localname in ("BPMNDiagram", "DMNDI"))


def diff_versions(old_files: dict[str, str], new_files: dict[str, str], process_id: str = specs.PROCESS_ID) -> dict:
    """What changed between two versions, for people and for the engine."""
    files = []
    elements = {"added": [], "removed": [], "changed": []}
    for name in sorted(set(old_files) | set(new_files)):
        old, new = old_files.get(name), new_files.get(name)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        entry = {"file": name, "status": status}
        if name.endswith((".bpmn", ".dmn")):
            a, b = _xml_elements(old or ""), _xml_elements(new or "")
            for key in sorted(set(b) - set(a)):
                elements["added"].append({"file": name, "id": key, "tag": b[key]["tag"], "name": b[key]["name"]})
            for key in sorted(set(a) - set(b)):
                elements["removed"].append({"file": name, "id": key, "tag": a[key]["tag"], "name": a[key]["name"]})
            for key in sorted(set(a) & set(b)):
                if a[key]["signature"] != b[key]["signature"]:
                    elements["changed"].append({"file": name, "id": key, "tag": b[key]["tag"], "name": b[key]["name"]})
            entry["layout_changed"] = status == "changed" and _layout(old) != _layout(new)
        elif name.endswith(".json") and old is not None and new is not None:
            try:
                a, b = json.loads(old).get("properties", {}), json.loads(new).get("properties", {})
                entry["fields"] = {"added": sorted(set(b) - set(a)), "removed": sorted(set(a) - set(b)),
                                   "changed": sorted(k for k in set(a) & set(b) if a[k] != b[k])}
            except (ValueError, AttributeError):
                pass
        files.append(entry)
    engine = None
    try:
        old_spec, _ = specs.parse(old_files, process_id)
        new_spec, _ = specs.parse(new_files, process_id)
        spec_diff = SpecDiff(persistence.SERIALIZER.registry, old_spec, new_spec)
        engine = {
            "added": sorted(_name(s) for s in spec_diff.added),
            "removed": sorted(_name(s) for s in spec_diff.removed),
            "changed": sorted(({"element": _name(s), "attributes": sorted(attrs)}
                               for s, attrs in spec_diff.changed.items()), key=lambda c: c["element"]),
        }
    except specs.SpecError as exc:
        engine = {"error": str(exc)}
    return {"files": files, "elements": elements, "engine": engine}
