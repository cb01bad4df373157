"""Lint a process version (BPMN + DMN + form files) before it may be published.

Everything here reads the files and SpiffWorkflow; nothing reads the database: whether a named group
(a lane "Chi bộ [party_cell]") is held by somebody is asked through the `role_exists` callback.

Each finding names the file and, where there is one, the element id, so that the designer can show it
on the diagram. Severity "error" blocks publishing; "warning" is advice.

Checks:
- the XML is safe (no DOCTYPE/ENTITY: XXE, "billion laughs") and well formed; BPMN and DMN files
  are valid against the XSDs; SpiffWorkflow parses the set (unknown decision ids, bad flows, …);
- scripts, pre/post scripts, gateway conditions, timer expressions, service-task parameters and DMN
  cells compile in the restricted environment (no import, no dunder names, …); timer constants are
  ISO 8601 (a date with an offset);
- every user task sits in a lane whose role resolves (a role relative to the subject, or a named
  group some user holds), names an existing, valid JSON Schema form, says what it means to the
  application (stepStatus from the list of record statuses, stepOrder a whole number; app/engine/steps.py)
  and has a `<task>_due` deadline (a warning when missing);
- exclusive gateways with several outgoing flows have a default flow;
- every DMN decision table has a catch-all row (all input entries "-" or empty);
- every flow node is reachable from a start event;
- every flow node, lane, participant and sequence flow has its shape or edge in the diagram (BPMNDI).
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Iterable

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from . import dataflow, elements, escapes, sandbox, scripttests, specs, steps
from .helpers import SCRIPT_HELPERS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

# Roles the authority resolver computes from the org chart, relative to the subject.
RELATIVE_ROLES = ("subject", "direct_manager", "decider", "superior_decider")
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# What every instance starts with (instances.seed_data) and what the engine adds.
SEED_NAMES = {
    "period",
    "opened_at",
    "scheme",
    "scheme_version",
    "criteria",
    "criteria_groups",
    "working_days",
    "subject",
}

CONTAINERS = {"subProcess", "transaction"}
HUMAN_TASKS = {"userTask", "manualTask"}
# Hit policies SpiffWorkflow's DMN engine applies as their names say: UNIQUE/FIRST/ANY take the first
# matching row (the catch-all row last), COLLECT lists every match. PRIORITY, RULE ORDER, OUTPUT ORDER
# and COLLECT with an aggregation (SUM, COUNT, MIN, MAX) would silently behave otherwise.
DMN_HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "COLLECT"}


@dataclass
class Finding:
    severity: str  # "error" blocks publishing, "warning" does not
    code: str
    file: str | None
    element: str | None
    message: str  # Vietnamese
    message_en: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


class _Linter:
    def __init__(
        self,
        files: dict[str, str],
        process_id: str,
        role_exists: Callable[[str], bool] | None,
        known_roles: Iterable[str],
        app_forms: Iterable[str] = (),
        notice_kinds: Iterable[str] | None = None,
        instructions_refusal: Callable[[Any], str | None] | None = None,
    ):
        self.files = files
        self.instructions_refusal = instructions_refusal
        self.notice_kinds = set(notice_kinds) if notice_kinds is not None else None
        self.app_forms = set(app_forms)
        self.process_id = process_id
        self.role_exists = role_exists or (lambda role: False)
        self.known_roles = set(RELATIVE_ROLES) | set(known_roles)
        self.findings: list[Finding] = []
        self.trees: dict[str, etree._Element] = {}
        self.assigned: set[str] = set(SEED_NAMES)  # names some script, form or DMN writes

    def add(
        self, severity: str, code: str, file: str | None, element: str | None, vi: str, en: str, line: int | None = None
    ) -> None:
        self.findings.append(Finding(severity, code, file, element, vi, en, line))

    # ------------------------------------------------------------------------------------ files
    def run(self) -> list[Finding]:
        bpmn_files = [n for n in sorted(self.files) if n.endswith(".bpmn")]
        if not bpmn_files:
            self.add(
                "error",
                "no_bpmn",
                None,
                None,
                "Phiên bản chưa có tệp quy trình .bpmn.",
                "The version has no .bpmn process file.",
            )
        xml_ok = True
        for name in sorted(self.files):
            text = self.files[name]
            if name.endswith((".bpmn", ".dmn")):
                tree = self._xml(name, text)
                if tree is None:
                    xml_ok = False
                    continue
                self.trees[name] = tree
                if not self._xsd(name, tree):
                    xml_ok = False
            elif name.endswith(".json"):
                self._form_file(name)
        if xml_ok and bpmn_files:
            self._spiff_parse()
        for name, tree in self.trees.items():
            if name.endswith(".dmn"):
                self._dmn(name, tree)
        for name, tree in self.trees.items():
            if name.endswith(".bpmn"):
                self._collect_assignments(tree)
        for name, tree in self.trees.items():
            if name.endswith(".bpmn"):
                self._bpmn(name, tree)
        if xml_ok:
            self._runnable_and_data()
        self._unused_forms()
        order = {"error": 0, "warning": 1}
        return sorted(self.findings, key=lambda f: (order.get(f.severity, 2), f.file or "", f.line or 0))

    def _xml(self, name: str, text: str) -> etree._Element | None:
        if specs.unsafe_xml(text):
            self.add(
                "error",
                "unsafe_xml",
                name,
                None,
                specs.UNSAFE_XML_VI.format(name=name),
                specs.UNSAFE_XML_EN.format(name=name),
            )
            return None
        try:
            return etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER)
        except etree.XMLSyntaxError as exc:
            self.add(
                "error",
                "xml_syntax",
                name,
                None,
                f"Tệp {name} không phải XML hợp lệ: {exc}",
                f"{name} is not well-formed XML: {exc}",
                getattr(exc, "lineno", None),
            )
            return None

    def _xsd(self, name: str, tree: etree._Element) -> bool:
        if name.endswith(".bpmn"):
            schema = VALIDATOR.validator
            tree_to_check = copy.deepcopy(tree)  # keeps the source lines; preprocess() edits the tree
            VALIDATOR.preprocess(tree_to_check)
        else:
            schema = _dmn_schema(tree)
            tree_to_check = tree
            if schema is None:
                self.add(
                    "error",
                    "xsd",
                    name,
                    tree.get("id"),
                    f"Tệp {name}: không nhận ra phiên bản DMN (namespace {tree.nsmap.get(None)!r}).",
                    f"{name}: unknown DMN namespace {tree.nsmap.get(None)!r}.",
                )
                return False
        if schema.validate(tree_to_check):
            return True
        for err in list(schema.error_log)[:20]:
            self.add(
                "error",
                "xsd",
                name,
                _element_at_line(tree, err.line),
                f"Tệp {name} dòng {err.line} sai lược đồ XSD: {err.message}",
                f"{name} line {err.line} is not valid against the XSD: {err.message}",
                err.line,
            )
        return False

    def _spiff_parse(self) -> None:
        try:
            specs.parse(self.files, self.process_id)
        except specs.SpecError as exc:
            element = exc.element or _element_in_message(self.trees, str(exc))
            file_name = exc.file_name or next(
                (
                    n
                    for n, t in self.trees.items()
                    if element and any(el.get("id") == element for el in t.iter() if isinstance(el.tag, str))
                ),
                None,
            )
            self.add(
                "error",
                "parse",
                file_name,
                element,
                f"SpiffWorkflow không đọc được quy trình: {exc}",
                f"SpiffWorkflow cannot parse the process: {exc}",
            )
        except RecursionError:
            self.add(
                "error",
                "parse",
                None,
                None,
                "Quy trình quá dài (chuỗi hơn ~490 bước).",
                "The process is too long for the parser (a chain of more than ~490 nodes).",
            )
        except Exception as exc:  # the parser raises plain exceptions on some malformed input
            element = _element_in_message(self.trees, str(exc))
            file_name = next(
                (
                    n
                    for n, t in self.trees.items()
                    if element and any(el.get("id") == element for el in t.iter() if isinstance(el.tag, str))
                ),
                None,
            )
            self.add(
                "error",
                "parse",
                file_name,
                element,
                f"SpiffWorkflow không đọc được quy trình: {exc}",
                f"SpiffWorkflow cannot parse the process: {exc}",
            )

    # ------------------------------------------------------------------------------------ forms
    def _form_file(self, name: str) -> None:
        problem = _form_problem(name, self.files[name])
        if problem:
            self.add(
                "error",
                "form_invalid",
                name,
                None,
                f"Biểu mẫu {name} không hợp lệ: {problem}",
                f"Form {name} is not valid: {problem}",
            )

    def _form_ok(self, name: str) -> bool:
        return not any(f.code == "form_invalid" and f.file == name and f.element is None for f in self.findings)

    def _unused_forms(self) -> None:
        used = set()
        for tree in (t for n, t in self.trees.items() if n.endswith(".bpmn")):
            for prop in tree.iter(f"{{{SPIFF_NS}}}property"):
                if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename"):
                    used.add((prop.get("value") or "").replace("\\", "/").rsplit("/", 1)[-1])
        for name in sorted(self.files):
            if name.endswith(".json") and name not in used and name not in self.app_forms:
                self.add(
                    "warning",
                    "form_unused",
                    name,
                    None,
                    f"Biểu mẫu {name} không được bước nào dùng.",
                    f"No task uses the form {name}.",
                )

    # -------------------------------------------------------------------------------------- DMN
    def _dmn(self, name: str, tree: etree._Element) -> None:
        for decision in tree.iter():
            if _local(decision) != "decision":
                continue
            for table in decision:
                if _local(table) != "decisionTable":
                    continue
                self._dmn_table(name, decision, table)

    def _dmn_table(self, name: str, decision: etree._Element, table: etree._Element) -> None:
        did = decision.get("id")
        inputs = [el for el in table if _local(el) == "input"]
        exprs = []
        for inp in inputs:
            text = _text(next((c for c in inp.iter() if _local(c) == "text"), None))
            exprs.append(text or "None")
            if text:
                self._expr(
                    name,
                    inp.get("id") or did,
                    text,
                    "eval",
                    "dmn_expression",
                    "Biểu thức đầu vào của bảng quyết định",
                    "The decision table's input expression",
                )
        for out in (el for el in table if _local(el) == "output"):
            if out.get("name"):
                self.assigned.add(out.get("name") or "")
        rules = [el for el in table if _local(el) == "rule"]
        catch_all = []
        for index, rule in enumerate(rules, start=1):
            rid = rule.get("id") or did
            entries = [el for el in rule if _local(el) == "inputEntry"]
            texts = [_text(next((c for c in e if _local(c) == "text"), None)) for e in entries]
            if all(t in ("", "-") for t in texts):
                catch_all.append(index)
            for col, text in enumerate(texts):
                if text in ("", "-"):
                    continue
                lhs = exprs[col] if col < len(exprs) else "x"
                source = text.replace("?", "(dmninputexpr)") if "?" in text else None
                candidates = [source] if source else [f"({lhs}) == ({text})", f"({lhs}) {text}"]
                self._script_escape_findings(
                    name,
                    rid,
                    text,
                    "eval",
                    f"Bảng {did}, dòng {index}: điều kiện",
                    f"Table {did}, row {index}: the entry",
                    rule.sourceline,
                )
                problems = [sandbox.check(c, "eval") for c in candidates]
                if all(problems):
                    self.add(
                        "error",
                        "dmn_expression",
                        name,
                        rid,
                        f"Bảng {did}, dòng {index}: điều kiện “{text}” không hợp lệ: {problems[0][0]}",
                        f"Table {did}, row {index}: the entry “{text}” does not compile: {problems[0][0]}",
                        rule.sourceline,
                    )
            for out in (e for e in rule if _local(e) == "outputEntry"):
                text = _text(next((c for c in out if _local(c) == "text"), None))
                if text:
                    self._expr(
                        name,
                        rid,
                        text,
                        "eval",
                        "dmn_expression",
                        f"Bảng {did}, dòng {index}: kết quả",
                        f"Table {did}, row {index}: output",
                        out.sourceline,
                    )
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in DMN_HIT_POLICIES or (policy == "COLLECT" and table.get("aggregation")):
            shown = policy + (f" {table.get('aggregation')}" if table.get("aggregation") else "")
            self.add(
                "error",
                "dmn_hit_policy",
                name,
                did,
                f"Bảng quyết định {did} dùng chính sách “{shown}”, mà bộ máy không áp dụng đúng (nó sẽ lấy "
                "dòng khớp đầu tiên hoặc trả danh sách chưa gộp): hãy chọn UNIQUE, FIRST, ANY hoặc COLLECT "
                "không gộp.",
                f"Decision table {did} uses the hit policy “{shown}”, which the engine does not apply as "
                "written (it takes the first matching row, or returns an unaggregated list): choose UNIQUE, "
                "FIRST, ANY or COLLECT without aggregation.",
                table.sourceline,
            )
        if policy != "COLLECT":
            if not catch_all:
                self.add(
                    "error",
                    "dmn_catch_all",
                    name,
                    did,
                    f"Bảng quyết định {did} thiếu dòng “còn lại” (mọi điều kiện là “-”): khi không dòng nào khớp, "
                    "SpiffWorkflow không trả kết quả và không báo lỗi.",
                    f"Decision table {did} has no catch-all row (every input entry “-”): when no row matches, "
                    "SpiffWorkflow silently returns nothing.",
                    table.sourceline,
                )
            elif catch_all[0] != len(rules):
                self.add(
                    "warning",
                    "dmn_catch_all_order",
                    name,
                    rules[catch_all[0] - 1].get("id") or did,
                    f"Bảng {did}: dòng {catch_all[0]} khớp mọi trường hợp nên các dòng sau nó không bao giờ được dùng.",
                    f"Table {did}: row {catch_all[0]} matches everything, so the rows after it are never used.",
                    rules[catch_all[0] - 1].sourceline,
                )

    # ------------------------------------------------------------------------------------- BPMN
    def _collect_assignments(self, tree: etree._Element) -> None:
        for el in tree.iter():
            tag = _local(el)
            if tag in ("script", "preScript", "postScript"):
                self.assigned |= _assigned_names(_text(el))
            elif tag in ("variableName", "messageVariable"):
                if _text(el):
                    self.assigned.add(_text(el))
            elif tag == "serviceTaskOperator" and el.get("resultVariable"):
                self.assigned.add(el.get("resultVariable") or "")

    def _bpmn(self, name: str, tree: etree._Element) -> None:
        di_refs = {el.get("bpmnElement") for el in tree.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge")}
        has_diagram = any(True for _ in tree.iter(f"{{{BPMNDI_NS}}}BPMNDiagram"))
        if not has_diagram:
            self.add(
                "error",
                "di_missing",
                name,
                None,
                f"Tệp {name} không có sơ đồ (BPMNDI): không vẽ được quy trình.",
                f"{name} has no diagram (BPMNDI): the process cannot be drawn.",
            )
        for participant in tree.iter(_bpmn("participant")):
            self._di(name, participant, di_refs, has_diagram)
        for process in tree.iter(_bpmn("process")):
            self._process(name, process, di_refs, has_diagram)

    def _di(self, name: str, el: etree._Element, di_refs: set[str | None], has_diagram: bool) -> None:
        if has_diagram and el.get("id") and el.get("id") not in di_refs:
            kind = "đường nối" if _local(el) in ("sequenceFlow", "messageFlow") else "hình"
            self.add(
                "error",
                "di_missing",
                name,
                el.get("id"),
                f"Phần tử {el.get('id')} ({_local(el)}) không có {kind} trên sơ đồ (BPMNDI).",
                f"Element {el.get('id')} ({_local(el)}) has no {'edge' if kind == 'đường nối' else 'shape'} "
                "in the diagram (BPMNDI).",
                el.sourceline,
            )

    def _process(self, name: str, process: etree._Element, di_refs: set[str | None], has_diagram: bool) -> None:
        nodes = {el.get("id") or "": el for el in process.iter() if _local(el) in dataflow.FLOW_NODES and el.get("id")}
        flows = [el for el in process.iter(_bpmn("sequenceFlow"))]
        lanes = {}
        for lane in process.iter(_bpmn("lane")):
            self._di(name, lane, di_refs, has_diagram)
            for ref in lane.iter(_bpmn("flowNodeRef")):
                node_id = _text(ref)
                # the innermost lane wins: iter() visits parents before children
                lanes[node_id] = lane
        for el in nodes.values():
            self._di(name, el, di_refs, has_diagram)
        for flow in flows:
            self._di(name, flow, di_refs, has_diagram)
        self._reachability(name, process, nodes, flows)
        for node_id, el in nodes.items():
            tag = _local(el)
            if tag in HUMAN_TASKS:
                self._human_task(name, el, lanes.get(node_id))
            elif tag == "exclusiveGateway":
                self._gateway(name, el, flows)
            elif tag == "scriptTask":
                script = next((c for c in el if _local(c) == "script"), None)
                if script is None or not _text(script):
                    self.add(
                        "warning",
                        "script_empty",
                        name,
                        node_id,
                        f"Bước {node_id} không có mã lệnh.",
                        f"Script task {node_id} has no script.",
                        el.sourceline,
                    )
                else:
                    self._expr(
                        name, node_id, _text(script), "exec", "script", "Mã lệnh", "The script", script.sourceline
                    )
                    self._script_tests(name, node_id, el, script.text or "")
            for sub in el.iter(f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript"):
                if _text(sub):
                    self._expr(
                        name, node_id, _text(sub), "exec", "script", f"{_local(sub)}", _local(sub), sub.sourceline
                    )
            for param in el.iter(f"{{{SPIFF_NS}}}parameter"):
                if param.get("value"):
                    self._expr(
                        name,
                        node_id,
                        param.get("value") or "",
                        "eval",
                        "script",
                        f"Tham số {param.get('id')}",
                        f"Parameter {param.get('id')}",
                        param.sourceline,
                    )
            for timer in el.iter(_bpmn("timerEventDefinition")):
                self._timer(name, node_id, timer)
        for flow in flows:
            cond = next((c for c in flow if _local(c) == "conditionExpression"), None)
            if cond is not None and _text(cond):
                self._expr(
                    name,
                    flow.get("id"),
                    _text(cond),
                    "eval",
                    "condition",
                    "Điều kiện",
                    "The condition",
                    cond.sourceline,
                )

    def _reachability(
        self, name: str, process: etree._Element, nodes: dict[str, etree._Element], flows: list[etree._Element]
    ) -> None:
        succ: dict[str, set[str]] = {}
        for flow in flows:
            succ.setdefault(flow.get("sourceRef") or "", set()).add(flow.get("targetRef") or "")
        for node_id, el in nodes.items():
            if _local(el) == "boundaryEvent" and el.get("attachedToRef"):
                succ.setdefault(el.get("attachedToRef") or "", set()).add(node_id)
            if _local(el) in CONTAINERS:
                for child in el:
                    if _local(child) == "startEvent" and child.get("id"):
                        succ.setdefault(node_id, set()).add(child.get("id") or "")

        def top_level_starts(container: etree._Element) -> list[str]:
            out: list[str] = []
            for child in container:
                if _local(child) == "startEvent" and child.get("id"):
                    out.append(child.get("id") or "")
                elif _local(child) in CONTAINERS and child.get("triggeredByEvent") == "true":
                    out.append(child.get("id") or "")  # event sub-processes start on their own
            return out

        roots = top_level_starts(process)
        for el in nodes.values():  # event sub-processes nested in sub-processes
            if _local(el) in CONTAINERS and el.get("triggeredByEvent") == "true":
                roots.append(el.get("id") or "")
        seen, stack = set(), list(roots)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(succ.get(node, ()))
        if not roots and nodes:
            self.add(
                "error",
                "no_start",
                name,
                process.get("id"),
                f"Quy trình {process.get('id')} không có sự kiện bắt đầu.",
                f"Process {process.get('id')} has no start event.",
                process.sourceline,
            )
            return
        for node_id, el in nodes.items():
            if node_id not in seen:
                self.add(
                    "error",
                    "unreachable",
                    name,
                    node_id,
                    f"Không đi tới được {node_id} ({el.get('name') or _local(el)}) từ sự kiện bắt đầu.",
                    f"{node_id} ({el.get('name') or _local(el)}) cannot be reached from a start event.",
                    el.sourceline,
                )

    def _human_task(self, name: str, el: etree._Element, lane: etree._Element | None) -> None:
        node_id = el.get("id") or ""
        label = el.get("name") or node_id
        if lane is None:
            self.add(
                "error",
                "lane_missing",
                name,
                node_id,
                f"Bước {label} không nằm trong làn nào: không biết giao cho ai.",
                f"Task {label} is in no lane: nobody can be assigned.",
                el.sourceline,
            )
        else:
            role = specs.lane_role(lane.get("name"))
            if not role or not ROLE_NAME.match(role):
                self.add(
                    "error",
                    "lane_role",
                    name,
                    node_id,
                    f"Làn “{lane.get('name') or lane.get('id')}” của bước {label} không ghi vai trò dạng "
                    "“Tên làn [vai_trò]” (chữ thường, số, gạch dưới).",
                    f"The lane “{lane.get('name') or lane.get('id')}” of {label} does not name a role as "
                    "“Label [role]” (lower case letters, digits, underscores).",
                    el.sourceline,
                )
            elif role not in self.known_roles and not self.role_exists(role):
                self.add(
                    "error",
                    "lane_role",
                    name,
                    node_id,
                    f"Vai trò “{role}” của bước {label} không xác định được: không phải vai trò theo sơ đồ tổ chức "
                    f"({', '.join(RELATIVE_ROLES)}) và chưa ai được gán nhóm “{role}”.",
                    f"The role “{role}” of {label} does not resolve: it is not a role from the org chart "
                    f"({', '.join(RELATIVE_ROLES)}) and nobody holds the group “{role}”.",
                    el.sourceline,
                )
        props = {p.get("name") or "": p.get("value") or "" for p in el.iter(f"{{{SPIFF_NS}}}property")}
        form = (props.get("formJsonSchemaFilename") or "").strip()
        if not form:
            if _local(el) == "userTask":
                self.add(
                    "error",
                    "form_missing",
                    name,
                    node_id,
                    f"Bước {label} chưa chọn biểu mẫu (formJsonSchemaFilename).",
                    f"Task {label} has no form (formJsonSchemaFilename).",
                    el.sourceline,
                )
        else:
            bare = form.replace("\\", "/").rsplit("/", 1)[-1]
            if bare not in self.files:
                self.add(
                    "error",
                    "form_file_missing",
                    name,
                    node_id,
                    f"Bước {label} dùng biểu mẫu {form} nhưng tệp này không có trong phiên bản.",
                    f"Task {label} uses the form {form}, which is not part of the version.",
                    el.sourceline,
                )
            elif not self._form_ok(bare):
                self.add(
                    "error",
                    "form_invalid",
                    name,
                    node_id,
                    f"Biểu mẫu {form} của bước {label} không hợp lệ.",
                    f"The form {form} of {label} is not valid.",
                    el.sourceline,
                )
        variable = next((_text(c) for c in el.iter(f"{{{SPIFF_NS}}}variableName")), "")
        info, problems = steps.read(node_id, props, title=label)
        for problem in problems:
            self.add("error", "step_property", name, node_id, problem.message, problem.message_en, el.sourceline)
        if info is not None:
            self._step_form(name, el, info, form.replace("\\", "/").rsplit("/", 1)[-1], variable)
        ui = (props.get("formUiSchemaFilename") or "").strip()
        if ui and ui.replace("\\", "/").rsplit("/", 1)[-1] not in self.files:
            self.add(
                "error",
                "form_file_missing",
                name,
                node_id,
                f"Không có tệp giao diện biểu mẫu {ui}.",
                f"The UI schema file {ui} is missing.",
                el.sourceline,
            )
        if variable and not IDENTIFIER.match(variable):
            self.add(
                "error",
                "variable_name",
                name,
                node_id,
                f"Tên biến “{variable}” của bước {label} không hợp lệ (chữ, số, gạch dưới).",
                f"The variable name “{variable}” of {label} is not an identifier.",
                el.sourceline,
            )
        elif variable in SEED_NAMES or variable in SCRIPT_HELPERS:
            what = (
                ("hàm có sẵn", "a built-in function")
                if variable in SCRIPT_HELPERS
                else ("dữ liệu ứng dụng đặt sẵn cho mỗi hồ sơ", "data the application gives every evaluation")
            )
            self.add(
                "error",
                "variable_name",
                name,
                node_id,
                f"Bước {label} lưu biểu mẫu vào “{variable}”, là tên của {what[0]}: biểu mẫu sẽ ghi đè và "
                "các bước sau dùng sai dữ liệu. Hãy đặt tên khác.",
                f"Task {label} stores its form under “{variable}”, the name of {what[1]}: the form would "
                "overwrite it and the steps after would use the wrong data. Choose another name.",
                el.sourceline,
            )
        if f"{node_id}_due" not in self.assigned:
            self.add(
                "warning",
                "due_missing",
                name,
                node_id,
                f"Bước {label} chưa có hạn: chưa lệnh nào gán {node_id}_due (ví dụ trong bước khởi tạo: "
                f"{node_id}_due = wd_deadline(period, 7, opened_at)).",
                f"Task {label} has no deadline: no script sets {node_id}_due (e.g. in the init script: "
                f"{node_id}_due = wd_deadline(period, 7, opened_at)).",
                el.sourceline,
            )

    def _step_form(self, name: str, el: etree._Element, info: steps.StepInfo, form: str, variable: str) -> None:
        """A step that scores or decides is read by the application: its answer must be stored under a
        variable of its own, with the field the application reads (scores; the level)."""
        node_id, label = info.step, el.get("name") or info.step
        if (info.scores or info.decides) and not variable:
            self.add(
                "error",
                "step_property",
                name,
                node_id,
                f"Bước {label} chấm điểm hoặc quyết định xếp loại nên cần biến lưu kết quả (variableName).",
                f"Step {label} scores or decides, so it needs a variable for its answer (variableName).",
                el.sourceline,
            )
        fields = self._form_fields().get(form, {}).get("fields")
        if fields is None:
            return  # no usable form: reported above
        for flag, field_name, vi, en in (
            (info.scores, "scores", "chấm điểm (stepScores)", "scores (stepScores)"),
            (info.decides, "level", "quyết định xếp loại (stepDecides)", "decides the level (stepDecides)"),
        ):
            if flag and field_name not in fields:
                self.add(
                    "error",
                    "step_property",
                    name,
                    node_id,
                    f"Bước {label} {vi} nhưng biểu mẫu {form} không có trường “{field_name}”.",
                    f"Step {label} {en} but the form {form} has no field “{field_name}”.",
                    el.sourceline,
                )

    def _gateway(self, name: str, el: etree._Element, flows: list[etree._Element]) -> None:
        node_id = el.get("id")
        outgoing = [f for f in flows if f.get("sourceRef") == node_id]
        if len(outgoing) < 2:
            return
        default = el.get("default")
        label = el.get("name") or node_id
        if not default:
            self.add(
                "error",
                "gateway_default",
                name,
                node_id,
                f"Cổng rẽ nhánh {label} có {len(outgoing)} nhánh nhưng không có nhánh mặc định: khi không điều "
                "kiện nào đúng, hồ sơ sẽ bị lỗi.",
                f"Exclusive gateway {label} has {len(outgoing)} outgoing flows but no default flow: when no "
                "condition holds, the instance fails.",
                el.sourceline,
            )
        elif default not in {f.get("id") for f in outgoing}:
            self.add(
                "error",
                "gateway_default",
                name,
                node_id,
                f"Nhánh mặc định {default} của cổng {label} không phải là nhánh đi ra của cổng.",
                f"The default flow {default} of {label} is not one of its outgoing flows.",
                el.sourceline,
            )
        for flow in outgoing:
            if flow.get("id") == default:
                continue
            cond = next((c for c in flow if _local(c) == "conditionExpression"), None)
            if cond is None or not _text(cond):
                self.add(
                    "warning",
                    "condition_missing",
                    name,
                    flow.get("id"),
                    f"Nhánh {flow.get('id')} của cổng {label} không có điều kiện.",
                    f"Flow {flow.get('id')} of {label} has no condition.",
                    flow.sourceline,
                )

    def _timer(self, name: str, node_id: str, timer: etree._Element) -> None:
        for child in timer:
            kind = _local(child)
            if kind not in ("timeDate", "timeDuration", "timeCycle"):
                continue
            text = _text(child)
            if not text:
                self.add(
                    "error",
                    "timer",
                    name,
                    node_id,
                    f"Hẹn giờ {node_id} chưa có biểu thức thời gian.",
                    f"The timer {node_id} has no time expression.",
                    child.sourceline,
                )
                continue
            if re.fullmatch(r"R?\d*/?P(\d|T)[0-9A-Z.]*", text.strip()):
                self.add(
                    "error",
                    "timer",
                    name,
                    node_id,
                    f'Hẹn giờ {node_id}: “{text}” là biểu thức Python, hãy viết trong ngoặc kép: "{text.strip()}".',
                    f'Timer {node_id}: “{text}” is a Python expression; quote it: "{text.strip()}".',
                    child.sourceline,
                )
                continue
            if not self._expr(
                name, node_id, text, "eval", "timer", "Biểu thức hẹn giờ", "The timer expression", child.sourceline
            ):
                continue
            constant = _constant(text)
            if isinstance(constant, str):
                problem = _timer_constant(kind, constant)
                if problem:
                    self.add(
                        "error",
                        "timer",
                        name,
                        node_id,
                        f"Hẹn giờ {node_id}: {problem[0]}",
                        f"Timer {node_id}: {problem[1]}",
                        child.sourceline,
                    )

    def _expr(
        self,
        file: str,
        element: str | None,
        source: str,
        mode: str,
        code: str,
        what_vi: str,
        what_en: str,
        line: int | None = None,
    ) -> bool:
        self._script_escape_findings(file, element, source, mode, what_vi, what_en, line)
        problems = sandbox.check(source, mode)
        if problems:
            self.add(
                "error",
                code,
                file,
                element,
                f"{what_vi} của {element} không chạy được trong môi trường hạn chế: {'; '.join(problems)}",
                f"{what_en} of {element} does not compile in the restricted environment: {'; '.join(problems)}",
                line,
            )
            return False
        return True

    def _script_escape_findings(
        self,
        file: str,
        element: str | None,
        source: str,
        mode: str,
        what_vi: str,
        what_en: str,
        line: int | None = None,
    ) -> None:
        """Ways out of the sandbox (escapes.py): format strings walking to globals, frames, absent builtins,
        huge constants, endless loops. The sandbox refuses them at run time too; here the designer sees
        them on the element."""
        for vi, en in escapes.problems(source, mode):
            self.add(
                "error",
                "script_escape",
                file,
                element,
                f"{what_vi} của {element} {vi}.",
                f"{what_en} of {element} {en}.",
                line,
            )

    def _script_tests(self, name: str, node_id: str, el: etree._Element, script: str) -> None:
        """The unit tests kept beside a script task (input → expected output), run now."""
        if sandbox.check(script, "exec"):
            return  # a script that does not compile is reported as such
        for test_id, input_json, expected_json in scripttests.tests_of(el):
            outcome = scripttests.run(script, test_id or node_id, input_json, expected_json)
            if not outcome.passed:
                self.add(
                    "error",
                    "script_test_failed",
                    name,
                    node_id,
                    f"Bước {node_id}: {outcome.vi}",
                    f"Script task {node_id}: {outcome.en}",
                    el.sourceline,
                )

    # ------------------------------------------------------------------ what runs, what is read
    def _runnable_and_data(self) -> None:
        """Elements the app cannot run (elements.py); names read before any step sets them, form fields
        that do not exist and working-day counts out of range (dataflow.py)."""
        decisions = self._decisions()
        forms = self._form_fields()
        known = dataflow.always_known(set(SCRIPT_HELPERS))
        processes = [(n, p) for n, t in self.trees.items() if n.endswith(".bpmn") for p in t.iter(_bpmn("process"))]
        if processes and self.process_id not in {p.get("id") for _, p in processes}:
            name, other = processes[0]
            self.add(
                "error",
                "process_missing",
                name,
                other.get("id"),
                f"Ứng dụng chạy quy trình có mã “{self.process_id}”, nhưng các tệp chỉ có quy trình "
                f"“{other.get('id')}”: hãy đặt lại mã quy trình là “{self.process_id}”.",
                f"The application runs the process with id “{self.process_id}”, but the files only hold "
                f"“{other.get('id')}”: give the process the id “{self.process_id}”.",
                other.sourceline,
            )
        for name, tree in self.trees.items():
            if not name.endswith(".bpmn"):
                continue
            process_ids = {p.get("id") or "" for p in tree.iter(_bpmn("process"))}
            for refusal in elements.refusals(tree, set(decisions), process_ids):
                self.add("error", "element_not_supported", name, refusal.element, refusal.vi, refusal.en, refusal.line)
            for process in tree.iter(_bpmn("process")):
                try:
                    problems = dataflow.check(
                        process,
                        decisions,
                        forms,
                        set(SEED_NAMES),
                        known,
                        lambda role: role in self.known_roles or self.role_exists(role),
                        self.notice_kinds,
                    )
                except RecursionError:
                    continue
                for problem in problems:
                    self.add("error", problem.code, name, problem.element, problem.vi, problem.en, problem.line)
                self._instructions(name, process, forms, known)

    def _instructions(
        self, name: str, process: etree._Element, forms: dict[str, dict[str, Any]], known: set[str]
    ) -> None:
        """Names the instructions' template shows that nothing sets render empty, and a template that
        does not parse is shown as written: advice, not errors (the month goes on)."""
        from jinja2 import TemplateSyntaxError, meta
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment()
        shown = set(self.assigned) | set(known) | {"allowed_levels"}
        for form in forms.values():
            shown |= form["fields"]
        for el in process.iter(_bpmn("userTask")):
            text = next((_text(c) for c in el.iter(f"{{{SPIFF_NS}}}instructionsForEndUser")), "")
            if not text or "{" not in text:
                continue
            try:
                tree = env.parse(text)
                names = meta.find_undeclared_variables(tree)
            except TemplateSyntaxError as exc:
                self.add(
                    "warning",
                    "instructions_template",
                    name,
                    el.get("id"),
                    f"Hướng dẫn của bước {el.get('id')} sai cú pháp mẫu ({exc.message}): sẽ hiện nguyên văn.",
                    f"The instructions of {el.get('id')} are not a valid template ({exc.message}): they are "
                    "shown as written.",
                    el.sourceline,
                )
                continue
            refused = self.instructions_refusal(tree) if self.instructions_refusal else None
            if refused:
                self.add(
                    "warning",
                    "instructions_refused",
                    name,
                    el.get("id"),
                    f"Hướng dẫn của bước {el.get('id')} dùng điều không được phép trong hướng dẫn ({refused}): "
                    "sẽ hiện nguyên văn.",
                    f"The instructions of {el.get('id')} use what instructions may not ({refused}): they are "
                    "shown as written.",
                    el.sourceline,
                )
                continue
            for unknown in sorted(names - shown):
                self.add(
                    "warning",
                    "instructions_name",
                    name,
                    el.get("id"),
                    f"Hướng dẫn của bước {el.get('id')} hiện “{unknown}”, nhưng không bước nào gán tên này: "
                    "chỗ đó sẽ để trống.",
                    f"The instructions of {el.get('id')} show “{unknown}”, which no step sets: it renders empty.",
                    el.sourceline,
                )

    def _decisions(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, tree in self.trees.items():
            if not name.endswith(".dmn"):
                continue
            for decision in tree.iter():
                if _local(decision) != "decision" or not decision.get("id"):
                    continue
                inputs, outputs = [], []
                for table in (t for t in decision if _local(t) == "decisionTable"):
                    for inp in (el for el in table if _local(el) == "input"):
                        text = _text(next((c for c in inp.iter() if _local(c) == "text"), None))
                        if text:
                            inputs.append(text)
                    outputs += [out.get("name") for out in table if _local(out) == "output" and out.get("name")]
                out[decision.get("id") or ""] = {"inputs": inputs, "outputs": outputs, "file": name}
        return out

    def _form_fields(self) -> dict[str, dict[str, Any]]:
        """Top-level fields each form stores (read-only ones are shown, never stored) and the required ones."""
        out = {}
        for name, text in self.files.items():
            if not name.endswith(".json") or not self._form_ok(name):
                continue
            try:
                schema = json.loads(text)
            except (ValueError, RecursionError):
                continue
            props = schema.get("properties") if isinstance(schema, dict) else None
            if not isinstance(props, dict):
                continue
            fields = {k for k, v in props.items() if not (isinstance(v, dict) and v.get("readOnly"))}
            required = set(schema.get("required") or []) & fields
            out[name] = {"fields": fields, "required": required}
        return out


@lru_cache(maxsize=256)
def _form_problem(name: str, text: str) -> str | None:
    """Why a form file is not a usable JSON Schema (None when it is); cached: checking a schema
    costs ~15 ms and the same files are validated again and again."""
    from app.forms import FormError, load_form  # pure functions, no database

    try:
        load_form({name: text}, name)
    except FormError as exc:
        return str(exc)
    except RecursionError:
        return "nested too deeply"
    return None


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _constant(source: str) -> Any:
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return False
    return node.value if isinstance(node, ast.Constant) else None


_DURATION = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)


def _timer_constant(kind: str, value: str) -> tuple[str, str] | None:
    if kind == "timeDuration":
        if not _DURATION.match(value):
            return (
                f'“{value}” không phải khoảng thời gian ISO 8601 (ví dụ "P3D", "PT4H").',
                f'“{value}” is not an ISO 8601 duration (e.g. "P3D", "PT4H").',
            )
    elif kind == "timeDate":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return (f"“{value}” không phải thời điểm ISO 8601.", f"“{value}” is not an ISO 8601 date-time.")
        if parsed.tzinfo is None:
            return (f"“{value}” thiếu múi giờ (thêm +07:00).", f"“{value}” has no time-zone offset (add +07:00).")
    elif kind == "timeCycle":
        parts = value.split("/")
        if not (len(parts) == 2 and re.fullmatch(r"R\d*", parts[0]) and _DURATION.match(parts[1])):
            return (
                f'“{value}” không phải chu kỳ ISO 8601 (ví dụ "R3/P1D").',
                f'“{value}” is not an ISO 8601 cycle (e.g. "R3/P1D").',
            )
    return None


def _assigned_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


# Attributes by which an element refers to something else: a parser that cannot find the target names
# the target ("The process 'nowhere' was not found"), the designer must see the element that refers to it.
REFERENCES = (
    "calledElement",
    "calledDecisionId",
    "messageRef",
    "signalRef",
    "errorRef",
    "escalationRef",
    "processRef",
    "attachedToRef",
    "dataObjectRef",
)


def _element_in_message(trees: dict[str, Any], message: str) -> str | None:
    """The id of a BPMN/DMN element a parser message names, for parse errors that do not carry their
    element: the element whose reference the message quotes, else the longest id found in the text
    (the parser's "Did you mean …" suggestions are not the culprit)."""
    full, message = message, re.split(r"Did you mean|Available DMN ids", message)[0]
    for tree in trees.values():
        for el in tree.iter():
            if not isinstance(el.tag, str) or not el.get("id"):
                continue
            refs = [el.get(a) for a in REFERENCES if el.get(a)]
            refs += [_text(c) for c in el if isinstance(c.tag, str) and _local(c) == "calledDecisionId"]
            if any(ref and re.search(r"[\'\"“]" + re.escape(ref) + r"[\'\"”]", message) for ref in refs):
                return str(el.get("id"))
    ids = {
        el.get("id")
        for tree in trees.values()
        for el in tree.iter()
        if isinstance(el.tag, str) and el.get("id") and _local(el) not in ("definitions",)
    }
    found = (
        [i for i in ids if re.search(r"(?<![\w-])" + re.escape(i) + r"(?![\w-])", message)]
        # only a suggestion names an id: the process the app starts is missing, the one there is meant
        or [i for i in ids if re.search(r"(?<![\w-])" + re.escape(i) + r"(?![\w-])", full)]
    )
    return max(found, key=len) if found else None


def _element_at_line(tree: etree._Element, line: int | None) -> str | None:
    """The id of the innermost element with an id that starts at or before `line`."""
    if not line:
        return None
    best = None
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.sourceline is None or el.sourceline > line:
            continue
        if el.get("id"):
            best = el.get("id")
    return best


_dmn_validators: dict[str, etree.XMLSchema | None] = {}


def _dmn_schema(tree: etree._Element) -> etree.XMLSchema | None:
    module = sys.modules["SpiffWorkflow.dmn.parser.BpmnDmnParser"]
    ns = tree.nsmap.get(None) or next((v for k, v in tree.nsmap.items() if k == "dmn"), None)
    path = module.SCHEMAS.get(ns)
    if path is None or ns is None:
        return None
    if ns not in _dmn_validators:
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

        try:
            _dmn_validators[ns] = BpmnValidator(path).validator
        except etree.XMLSchemaParseError:  # SpiffWorkflow ships a DMN 1.2 XSD that does not load
            _dmn_validators[ns] = None
    return _dmn_validators[ns]


def validate(
    files: dict[str, str],
    *,
    process_id: str = specs.PROCESS_ID,
    role_exists: Callable[[str], bool] | None = None,
    known_roles: Iterable[str] = (),
    app_forms: Iterable[str] = (),
    notice_kinds: Iterable[str] | None = None,
    instructions_refusal: Callable[[Any], str | None] | None = None,
) -> list[Finding]:
    """Every finding for a set of files {name: text}: errors first, then warnings. `app_forms` are
    forms the application itself uses outside the diagram (not reported as unused); `notice_kinds` the
    kinds of notify() the application turns into messages (None: not checked); `instructions_refusal`
    why the application would refuse to run an instructions template (its parsed Jinja tree), or None."""
    return _Linter(files, process_id, role_exists, known_roles, app_forms, notice_kinds, instructions_refusal).run()


def check_upload(name: str, data: bytes) -> str:
    """The text of an uploaded .bpmn/.dmn/.json file, or UploadRefused with a bilingual message.

    XML is checked for DTD/entity declarations before any parser sees it, then parsed with entity
    expansion, DTD loading and network access disabled; JSON must parse to an object.
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.(bpmn|dmn|json)", name or ""):
        raise UploadRefused(
            f"Tên tệp “{name}” không hợp lệ: chỉ nhận .bpmn, .dmn, .json (chữ, số, “_”, “-”, “.”).",
            f"The file name “{name}” is not accepted: only .bpmn, .dmn, .json (letters, digits, _ - .).",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused(f"Tệp {name} không phải văn bản UTF-8.", f"{name} is not UTF-8 text.") from None
    if "\x00" in text:
        raise UploadRefused(f"Tệp {name} chứa ký tự NUL.", f"{name} contains a NUL character.")
    if name.endswith((".bpmn", ".dmn")):
        if specs.unsafe_xml(text):
            raise UploadRefused(specs.UNSAFE_XML_VI.format(name=name), specs.UNSAFE_XML_EN.format(name=name))
        try:
            etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER)
        except etree.XMLSyntaxError as exc:
            raise UploadRefused(
                f"Tệp {name} không phải XML hợp lệ: {exc}", f"{name} is not well-formed XML: {exc}"
            ) from None
    else:
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise UploadRefused(
                f"Tệp {name} không phải JSON hợp lệ: {exc}", f"{name} is not valid JSON: {exc}"
            ) from None
        if not isinstance(value, dict):
            raise UploadRefused(f"Tệp {name} phải là một đối tượng JSON.", f"{name} must hold a JSON object.")
    return text


class UploadRefused(ValueError):
    def __init__(self, message: str, message_en: str):
        super().__init__(message)
        self.message, self.message_en = message, message_en
