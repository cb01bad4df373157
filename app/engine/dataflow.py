"""What a process reads and writes, and whether every name is set before it is read.

A script that reads a name nobody set fails with NameError when a month reaches it, and the instance
stays stuck there. This module reads the diagram the way the engine will run it: every flow node
writes some names (a script's assignments, a form's variable, a decision table's outputs, a message
variable) and reads others (scripts, pre/post scripts, conditions on its outgoing flows, timers,
the inputs of the decision table it calls). A forward "must be set" analysis over the sequence
flows (names set on *every* path that reaches a node; a parallel join unites its branches) tells
which reads can fail.

It also knows what the forms hold: `review["x"]` or `review.get("x")` where `review` is only ever
written by forms is checked against the forms' fields.

Pure functions over lxml trees: no database, no SpiffWorkflow.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

# notify("reminder", step): the reminder goes to whoever holds that user task
STEP_NOTICES = frozenset({"reminder"})

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

FLOW_NODES = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
}
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}

# Helpers whose second argument counts working days, and the range a designer may give.
WORKING_DAY_ARGS = {"wd_deadline": (1, 23), "wd_after": (1, 23), "wd_before": (0, 23), "wd_in_period": (1, 23)}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


# ------------------------------------------------------------------------------- Python sources
@dataclass
class Source:
    """One piece of Python the engine runs at a node, and what it reads and writes."""

    kind: str  # script, preScript, postScript, condition, timer, dmn_input, loop
    text: str
    reads: list[str] = field(default_factory=list)  # free names read before this source sets them
    writes: set[str] = field(default_factory=set)  # names set on every path through the source
    keys_read: list[tuple[str, str]] = field(default_factory=list)  # (variable, key) of x["k"] / x.get("k")
    keys_written: list[tuple[str, str]] = field(default_factory=list)
    whole_writes: set[str] = field(default_factory=set)  # names assigned as a whole (x = ...)
    calls: list[ast.Call] = field(default_factory=list)
    line: int | None = None


def analyse_source(text: str, mode: str, kind: str = "script", line: int | None = None) -> Source:
    out = Source(kind, text, line=line)
    try:
        tree = ast.parse(text.strip() if mode == "eval" else text, mode=mode)
    except SyntaxError:
        return out  # reported by the compile check
    reader = _Reader()
    defined: set[str] = set()
    if isinstance(tree, ast.Expression):
        reader.expr(tree.body, set())
    elif isinstance(tree, ast.Module):
        defined = reader.block(tree.body, set())
    out.reads, out.writes = reader.reads, defined
    out.keys_read, out.keys_written = reader.keys_read, reader.keys_written
    out.whole_writes, out.calls = reader.whole_writes, reader.calls
    return out


class _Reader:
    """Walks statements in execution order; a name is read "free" when no earlier statement of the
    same source is sure to have set it. Branches (if/try/loops) only count what all of them set."""

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.keys_read: list[tuple[str, str]] = []
        self.keys_written: list[tuple[str, str]] = []
        self.whole_writes: set[str] = set()
        self.calls: list[ast.Call] = []

    def block(self, body: list[ast.stmt], defined: set[str]) -> set[str]:
        defined = set(defined)
        for stmt in body:
            defined = self.stmt(stmt, defined)
        return defined

    def stmt(self, node: ast.stmt, defined: set[str]) -> set[str]:
        if isinstance(node, ast.Assign):
            self.expr(node.value, defined)
            for target in node.targets:
                defined = self.target(target, defined)
            return defined
        if isinstance(node, ast.AugAssign):
            self.expr(node.value, defined)
            self.expr(node.target, defined)  # x += 1 reads x
            return self.target(node.target, defined)
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value, defined)
                return self.target(node.target, defined)
            return defined
        if isinstance(node, ast.If):
            self.expr(node.test, defined)
            return self.block(node.body, defined) & self.block(node.orelse, defined)
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter, defined)
            inner = self.target(node.target, defined)
            self.block(node.body, inner)
            self.block(node.orelse, defined)
            return defined
        if isinstance(node, ast.While):
            self.expr(node.test, defined)
            self.block(node.body, defined)
            self.block(node.orelse, defined)
            return defined
        if isinstance(node, ast.Try):
            after = self.block(node.body, defined)
            for handler in node.handlers:
                inner = defined | ({handler.name} if handler.name else set())
                self.block(handler.body, inner)
            self.block(node.orelse, after)
            self.block(node.finalbody, defined)
            return defined
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                self.expr(deco, defined)
            args = node.args
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a}
            # the body runs when called: it may read anything the script sets anywhere, itself included
            self.block(node.body, defined | params | {node.name} | _all_stores(node))
            self.whole_writes.add(node.name)
            return defined | {node.name}
        if isinstance(node, ast.Return) and node.value is not None:
            self.expr(node.value, defined)
            return defined
        if isinstance(node, ast.Expr):
            self.expr(node.value, defined)
            return defined
        if isinstance(node, ast.Delete):
            return defined - {t.id for t in node.targets if isinstance(t, ast.Name)}
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, defined)
        return defined

    def target(self, node: ast.expr, defined: set[str]) -> set[str]:
        if isinstance(node, ast.Name):
            self.whole_writes.add(node.id)
            return defined | {node.id}
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                defined = self.target(elt, defined)
            return defined
        if isinstance(node, ast.Starred):
            return self.target(node.value, defined)
        if isinstance(node, ast.Subscript):
            key = _constant_key(node.slice)
            if isinstance(node.value, ast.Name) and key is not None:
                self.keys_written.append((node.value.id, key))
            self.expr(node.value, defined)
            self.expr(node.slice, defined)
            return defined
        self.expr(node, defined)
        return defined

    def expr(self, node: ast.expr | None, defined: set[str]) -> None:
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in defined and node.id not in self.reads:
                self.reads.append(node.id)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = set(defined)
            for gen in node.generators:
                self.expr(gen.iter, inner)
                inner |= _names(gen.target)
                for cond in gen.ifs:
                    self.expr(cond, inner)
            for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
                self.expr(part, inner)
            return
        if isinstance(node, ast.Lambda):
            args = node.args
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a}
            self.expr(node.body, defined | params)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value, defined)
            defined.add(node.target.id)
            return
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name):
            key = _constant_key(node.slice)
            if key is not None:
                self.keys_read.append((node.value.id, key))
        if isinstance(node, ast.Call):
            self.calls.append(node)
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and isinstance(func.value, ast.Name)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                self.keys_read.append((func.value.id, node.args[0].value))
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, defined)
            elif isinstance(child, ast.keyword):
                self.expr(child.value, defined)
            elif isinstance(child, ast.comprehension):
                self.expr(child.iter, defined)


def _constant_key(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _all_stores(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


# ----------------------------------------------------------------------------------- the graph
@dataclass
class Node:
    id: str
    tag: str
    el: object
    before: list[Source] = field(default_factory=list)  # run with the data that arrives (pre-script, DMN…)
    after: list[Source] = field(default_factory=list)  # run after the node's own writes (post-script)
    outgoing_reads: list[tuple[str, Source]] = field(default_factory=list)  # (flow id, condition)
    writes: set[str] = field(default_factory=set)  # set by the node itself (form, DMN, message)
    form_writes: dict[str, str] = field(default_factory=dict)  # variable -> form file
    attached_to: str | None = None
    container: str | None = None


@dataclass
class Graph:
    nodes: dict[str, Node]
    preds: dict[str, list[tuple[str, str]]]  # node -> [(pred id, "out" | "in")]
    roots: list[str]


def build(process: etree._Element, decisions: dict[str, dict[str, Any]]) -> Graph:
    """`decisions`: decision id -> {"inputs": [expression…], "outputs": [name…], "file": name}."""
    nodes: dict[str, Node] = {}
    preds: dict[str, list[tuple[str, str]]] = {}
    roots: list[str] = []

    def visit(container: etree._Element, container_id: str | None) -> tuple[list[str], list[str]]:
        starts: list[str] = []
        ends: list[str] = []
        for el in container:
            tag = _local(el)
            if tag in FLOW_NODES and el.get("id"):
                node = _node(el, tag, decisions)
                node.container = container_id
                nodes[node.id] = node
                if tag == "startEvent":
                    starts.append(node.id)
                if tag == "endEvent":
                    ends.append(node.id)
                if tag in CONTAINERS:
                    inner_starts, inner_ends = visit(el, node.id)
                    for start in inner_starts:
                        preds.setdefault(start, []).append((node.id, "in"))
                    exit_id = node.id + "#exit"
                    nodes[exit_id] = Node(exit_id, "exit", el, container=container_id)
                    preds[exit_id] = [(end, "out") for end in inner_ends] or [(node.id, "in")]
        for flow in container:
            if _local(flow) != "sequenceFlow":
                continue
            source, target = flow.get("sourceRef") or "", flow.get("targetRef") or ""
            if source in nodes and target in nodes:
                origin = source + "#exit" if nodes[source].tag in CONTAINERS else source
                preds.setdefault(target, []).append((origin, "out"))
                cond = next((c for c in flow if _local(c) == "conditionExpression"), None)
                if cond is not None and _text(cond):
                    nodes[source].outgoing_reads.append(
                        (flow.get("id") or "", analyse_source(_text(cond), "eval", "condition", cond.sourceline))
                    )
        return starts, ends

    top_starts, _ = visit(process, None)
    roots.extend(top_starts)
    for node in nodes.values():
        if node.attached_to and node.attached_to in nodes:
            preds.setdefault(node.id, []).append((node.attached_to, "in"))
    return Graph(nodes, preds, roots)


def _node(el: etree._Element, tag: str, decisions: dict[str, dict[str, Any]]) -> Node:
    node = Node(el.get("id") or "", tag, el, attached_to=el.get("attachedToRef") if tag == "boundaryEvent" else None)
    for sub in el.iter(f"{{{SPIFF_NS}}}preScript"):
        if _text(sub) and _owner(sub, el):
            node.before.append(analyse_source(_text(sub), "exec", "preScript", sub.sourceline))
    if tag == "scriptTask":
        script = next((c for c in el if _local(c) == "script"), None)
        if script is not None and _text(script):
            node.before.append(analyse_source(script.text or "", "exec", "script", script.sourceline))
    for timer in el.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
        for child in timer:
            if _local(child) in ("timeDate", "timeDuration", "timeCycle") and _text(child):
                node.before.append(analyse_source(_text(child), "eval", "timer", child.sourceline))
    for loop in el:
        if _local(loop) == "multiInstanceLoopCharacteristics":
            for part in loop:
                if _local(part) in ("loopCardinality", "completionCondition") and _text(part):
                    node.before.append(analyse_source(_text(part), "eval", "loop", part.sourceline))
                elif _local(part) == "loopDataInputRef" and _text(part):
                    node.before.append(analyse_source(_text(part), "eval", "loop", part.sourceline))
    if tag in ("userTask", "manualTask"):
        props = {p.get("name"): p.get("value") for p in el.iter(f"{{{SPIFF_NS}}}property")}
        form = (props.get("formJsonSchemaFilename") or "").replace("\\", "/").rsplit("/", 1)[-1]
        variable = next((_text(c) for c in el.iter(f"{{{SPIFF_NS}}}variableName")), "")
        if variable:
            node.writes.add(variable)
            if form:
                node.form_writes[variable] = form
        elif form:
            node.form_writes[""] = form  # fields land at the top level: filled in by the caller
    if tag == "businessRuleTask":
        called = next((_text(c) for c in el.iter(f"{{{SPIFF_NS}}}calledDecisionId")), "")
        decision = decisions.get(called)
        if decision:
            for expression in decision["inputs"]:
                node.before.append(analyse_source(expression, "eval", "dmn_input"))
            node.writes |= set(decision["outputs"])
    for message in el.iter(f"{{{SPIFF_NS}}}messageVariable"):
        if _text(message):
            node.writes.add(_text(message))
    for sub in el.iter(f"{{{SPIFF_NS}}}postScript"):
        if _text(sub) and _owner(sub, el):
            node.after.append(analyse_source(_text(sub), "exec", "postScript", sub.sourceline))
    return node


def _owner(sub: etree._Element, el: etree._Element) -> bool:
    """A pre/post script belongs to the nearest flow node above it (not to a task nested in a sub-process)."""
    parent = sub.getparent()
    while parent is not None and not (_local(parent) in FLOW_NODES and parent.get("id")):
        parent = parent.getparent()
    return parent is el


def must_be_set(graph: Graph, seed: set[str], form_fields: dict[str, set[str]]) -> dict[str, set[str] | None]:
    """For every node, the names set on every path that reaches it (None: no path reaches it)."""
    inset: dict[str, set[str] | None] = {n: None for n in graph.nodes}
    outset: dict[str, set[str] | None] = {n: None for n in graph.nodes}
    joins = {n for n, node in graph.nodes.items() if node.tag == "parallelGateway" and len(graph.preds.get(n, [])) > 1}
    changed = True
    rounds = 0
    while changed and rounds < 200:
        changed, rounds = False, rounds + 1
        for node_id, node in graph.nodes.items():
            if node_id in graph.roots and node.container is None:
                incoming = set(seed)
            else:
                found = [(inset if side == "in" else outset).get(p) for p, side in graph.preds.get(node_id, [])]
                sets = [s for s in found if s is not None]
                if not sets:
                    continue
                incoming = set().union(*sets) if node_id in joins else set.intersection(*sets)
            out = set(incoming)
            for source in node.before:
                out |= source.writes
            out |= node.writes
            for variable, form in node.form_writes.items():
                if variable == "":
                    out |= form_fields.get(form, set())
            for source in node.after:
                out |= source.writes
            if inset[node_id] != incoming or outset[node_id] != out:
                inset[node_id], outset[node_id] = incoming, out
                changed = True
    return inset


# ------------------------------------------------------------------------------------- checking
@dataclass
class Problem:
    code: str
    element: str
    vi: str
    en: str
    line: int | None = None


def check(
    process: etree._Element,
    decisions: dict[str, dict[str, Any]],
    forms: dict[str, dict[str, Any]],
    seed: set[str],
    known: set[str],
    role_ok: Callable[[str], bool] | None = None,
    notice_kinds: set[str] | None = None,
) -> list[Problem]:
    """Names read before any step sets them, form fields that do not exist, working-day counts out of
    range. `forms`: form file -> {"fields": set of top-level properties, "required": set}; `known`:
    script helpers and built-ins that are always there."""
    graph = build(process, decisions)
    form_fields = {name: spec["required"] for name, spec in forms.items()}
    inset = must_be_set(graph, seed, form_fields)
    written_anywhere = set(seed)
    for node in graph.nodes.values():
        written_anywhere |= node.writes
        for source in node.before + node.after:
            written_anywhere |= source.whole_writes
        for form in node.form_writes.values():
            written_anywhere |= forms.get(form, {}).get("fields", set())
    problems: list[Problem] = []
    for node_id, node in graph.nodes.items():
        available = inset.get(node_id)
        if available is None or node.tag == "exit":
            continue
        available = set(available)
        for source in node.before:
            problems += _missing(node_id, source, available, known, written_anywhere)
            available |= source.writes
        available |= node.writes
        for variable, form in node.form_writes.items():
            available |= forms.get(form, {}).get("required", set()) if variable == "" else set()
        for source in node.after:
            problems += _missing(node_id, source, available, known, written_anywhere)
            available |= source.writes
        for flow_id, source in node.outgoing_reads:
            problems += _missing(flow_id, source, available, known, written_anywhere)
    problems += _form_keys(graph, forms)
    problems += _working_days(graph)
    problems += _helper_arguments(graph, role_ok, notice_kinds)
    return problems


WHAT = {
    "script": ("Mã lệnh", "The script"),
    "preScript": ("Lệnh trước bước (preScript)", "The pre-script"),
    "postScript": ("Lệnh sau bước (postScript)", "The post-script"),
    "condition": ("Điều kiện", "The condition"),
    "timer": ("Hẹn giờ", "The timer"),
    "dmn_input": ("Đầu vào bảng quyết định", "The decision table input"),
    "loop": ("Vòng lặp", "The loop"),
}


def _missing(element: str, source: Source, available: set[str], known: set[str], anywhere: set[str]) -> list[Problem]:
    out = []
    what_vi, what_en = WHAT.get(source.kind, (source.kind, source.kind))
    for name in source.reads:
        if name in available or name in known:
            continue
        if name in anywhere:
            vi = (
                f"{what_vi} của {element} đọc “{name}”, nhưng có đường đi tới đây mà chưa bước nào gán "
                f"“{name}”: hồ sơ đi đường đó sẽ dừng ở đây (NameError)."
            )
            en = (
                f"{what_en} of {element} reads “{name}”, but some path reaches it without any step setting "
                f"“{name}”: an evaluation on that path stops here (NameError)."
            )
        else:
            vi = (
                f"{what_vi} của {element} đọc “{name}”, nhưng không bước nào, biểu mẫu hay bảng quyết định nào "
                f"gán “{name}” và đây không phải hàm có sẵn: hồ sơ sẽ dừng ở đây (NameError)."
            )
            en = (
                f"{what_en} of {element} reads “{name}”, which no step, form or decision table sets and which "
                f"is not a built-in function: an evaluation stops here (NameError)."
            )
        out.append(Problem("name_unset", element, vi, en, source.line))
    return out


def _form_keys(graph: Graph, forms: dict[str, dict[str, Any]]) -> list[Problem]:
    """x["k"] / x.get("k") where x is only ever written by forms: k must be one of their fields
    (or set by a script: x["k"] = …)."""
    writers: dict[str, set[str]] = {}
    scripted_whole: set[str] = set()
    scripted_keys: dict[str, set[str]] = {}
    for node in graph.nodes.values():
        for variable, form in node.form_writes.items():
            if variable:
                writers.setdefault(variable, set()).add(form)
        for variable in node.writes - set(node.form_writes):
            scripted_whole.add(variable)
        for source in node.before + node.after:
            scripted_whole |= source.whole_writes
            for variable, key in source.keys_written:
                scripted_keys.setdefault(variable, set()).add(key)
    out = []
    for node_id, node in graph.nodes.items():
        sources = [(node_id, s) for s in node.before + node.after] + list(node.outgoing_reads)
        for element, source in sources:
            for variable, key in source.keys_read:
                if variable not in writers or variable in scripted_whole:
                    continue
                if any(form not in forms for form in writers[variable]):
                    continue  # a missing form is reported elsewhere
                fields = set().union(*(forms[f]["fields"] for f in writers[variable]))
                if key in fields or key in scripted_keys.get(variable, set()):
                    continue
                names = ", ".join(sorted(writers[variable]))
                out.append(
                    Problem(
                        "form_field_unknown",
                        element,
                        f"{element} đọc trường “{key}” của “{variable}”, nhưng biểu mẫu {names} không có trường này.",
                        f"{element} reads the field “{key}” of “{variable}”, which the form {names} does not have.",
                        source.line,
                    )
                )
    return out


def _working_days(graph: Graph) -> list[Problem]:
    out = []
    for node_id, node in graph.nodes.items():
        for source in node.before + node.after + [s for _, s in node.outgoing_reads]:
            for call in source.calls:
                name = call.func.id if isinstance(call.func, ast.Name) else None
                if name not in WORKING_DAY_ARGS or len(call.args) < 2:
                    continue
                arg = call.args[1]
                if not isinstance(arg, ast.Constant):
                    continue
                low, high = WORKING_DAY_ARGS[name]
                value = arg.value
                if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                    out.append(
                        Problem(
                            "working_days",
                            node_id,
                            f"{node_id}: {name}(…, {value!r}, …) — số ngày làm việc phải là số nguyên từ {low} đến {high} "
                            "(một tháng có tối đa 23 ngày làm việc).",
                            f"{node_id}: {name}(…, {value!r}, …) — the number of working days must be a whole number "
                            f"from {low} to {high} (a month has at most 23 working days).",
                            source.line,
                        )
                    )
    return out


def _helper_arguments(
    graph: Graph, role_ok: Callable[[str], bool] | None, notice_kinds: set[str] | None
) -> list[Problem]:
    """Constant arguments of the helpers that name something: a notice the app sends (`notice_kinds`,
    given by the service that turns them into messages: a kind nobody handles is silently dropped), the
    step a reminder is for (no such step: nobody is reminded), the roles `same_holder` compares (a role
    that does not resolve is never held: the branch is never taken)."""
    user_tasks = {n.id for n in graph.nodes.values() if n.tag == "userTask"}
    out = []
    for node_id, node in graph.nodes.items():
        for element, source in [(node_id, s) for s in node.before + node.after] + list(node.outgoing_reads):
            for call in source.calls:
                name = call.func.id if isinstance(call.func, ast.Name) else None
                args = [a.value if isinstance(a, ast.Constant) else None for a in call.args]
                if name == "notify" and args:
                    kind = args[0]
                    if isinstance(kind, str) and notice_kinds is not None and kind not in notice_kinds:
                        out.append(
                            Problem(
                                "notice_kind",
                                element,
                                f"{element}: notify(“{kind}”, …) — ứng dụng không có loại thông báo này nên không ai "
                                f"nhận được; các loại có: {', '.join(sorted(notice_kinds))}.",
                                f"{element}: notify(“{kind}”, …) — the application has no such notice, nobody would "
                                f"receive it; the kinds are: {', '.join(sorted(notice_kinds))}.",
                                source.line,
                            )
                        )
                    elif (
                        kind in STEP_NOTICES
                        and len(args) > 1
                        and isinstance(args[1], str)
                        and args[1] not in user_tasks
                    ):
                        out.append(
                            Problem(
                                "notice_step",
                                element,
                                f"{element}: notify(“{kind}”, “{args[1]}”) — không có bước người dùng “{args[1]}” "
                                "trong quy trình nên không ai được nhắc.",
                                f"{element}: notify(“{kind}”, “{args[1]}”) — the process has no user task "
                                f"“{args[1]}”, so nobody would be reminded.",
                                source.line,
                            )
                        )
                elif name == "same_holder" and role_ok is not None:
                    for role in args[:2]:
                        if isinstance(role, str) and not role_ok(role):
                            out.append(
                                Problem(
                                    "role_unknown",
                                    element,
                                    f"{element}: same_holder(…) so sánh vai trò “{role}”, nhưng vai trò này không "
                                    "xác định được (không theo sơ đồ tổ chức, chưa ai được gán): điều kiện không bao "
                                    "giờ đúng.",
                                    f"{element}: same_holder(…) compares the role “{role}”, which does not resolve (not "
                                    "a role of the org chart, nobody holds it): the condition is never true.",
                                    source.line,
                                )
                            )
    return out


def always_known(helpers: set[str], extra: Iterable[str] = ()) -> set[str]:
    """Names a script may read without anyone setting them: helpers, the sandbox's built-ins."""
    return set(helpers) | set(dir(builtins)) | {"math", "random", "string"} | set(extra)
