"""The BPMN elements this application knows how to run, and why it refuses the others.

SpiffWorkflow parses far more than the app can carry through a month: nobody here sends a message
other than the appeal, no connector runs a service task, a plain task waits for ever for a form the
app cannot show. Each refused element is named with its id and a reason a process designer
understands.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# Messages the application itself delivers to a waiting process (app/services/evaluation/appeals.py).
APP_MESSAGES = {"appeal"}

ALLOWED_TASKS = {"userTask", "scriptTask", "businessRuleTask", "subProcess"}
ALLOWED_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}

REFUSED = {
    "task": (
        "một bước không có loại (task thường): không ai làm và không có lệnh nào chạy; hãy chọn bước "
        "người dùng (user task), bước lệnh (script task) hoặc bước xếp loại (business rule task)",
        "a plain task has no type: nobody does it and no script runs; make it a user task, a script task "
        "or a business rule task",
    ),
    "manualTask": (
        "ứng dụng không hoàn thành được bước thủ công (manual task): không có biểu mẫu để ghi nhận; "
        "hãy dùng bước người dùng (user task) với một biểu mẫu",
        "the application cannot complete a manual task: there is no form to record it; use a user task with a form",
    ),
    "serviceTask": (
        "ứng dụng không có dịch vụ ngoài nào để gọi (service task); hãy dùng bước lệnh (script task)",
        "the application has no external service to call (service task); use a script task",
    ),
    "sendTask": (
        "ứng dụng không gửi thông điệp ra ngoài (send task)",
        "the application sends no messages out (send task)",
    ),
    "receiveTask": (
        "không ai gửi thông điệp cho bước nhận (receive task): hồ sơ sẽ chờ mãi",
        "nobody sends the message a receive task waits for: the evaluation would wait for ever",
    ),
    "callActivity": (
        "ứng dụng chạy một quy trình cho mỗi hồ sơ, không gọi quy trình khác (call activity); hãy vẽ "
        "các bước trong một tiểu quy trình (sub-process)",
        "the application runs one process per evaluation and calls no other process (call activity); "
        "draw the steps in an embedded sub-process",
    ),
    "transaction": ("ứng dụng không chạy giao dịch (transaction)", "the application does not run transactions"),
    "adHocSubProcess": (
        "ứng dụng không chạy tiểu quy trình tùy ý (ad-hoc)",
        "the application does not run ad-hoc sub-processes",
    ),
    "complexGateway": (
        "ứng dụng không chạy cổng phức hợp (complex gateway); hãy dùng cổng loại trừ hoặc song song",
        "the application does not run complex gateways; use an exclusive or a parallel gateway",
    ),
}
DATA_ELEMENTS = {
    "ioSpecification",
    "dataInputAssociation",
    "dataOutputAssociation",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "dataInput",
    "dataOutput",
}


@dataclass
class Refusal:
    element: str
    vi: str
    en: str
    line: int | None = None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _nearest_id(el: etree._Element | None) -> str:
    while el is not None:
        found = el.get("id")
        if found and _local(el) not in ("extensionElements",):
            return str(found)
        el = el.getparent()
    return ""


FLOW_NODE_TAGS = ALLOWED_TASKS | ALLOWED_GATEWAYS | EVENTS | set(REFUSED)


def _flow_node_above(el: etree._Element) -> str | None:
    for ancestor in el.iterancestors():
        found = ancestor.get("id")
        if _local(ancestor) in FLOW_NODE_TAGS and found:
            return str(found)
    return None


def refusals(tree: etree._Element, decision_ids: set[str], process_ids: set[str]) -> list[Refusal]:
    """Every element of a BPMN file that this application cannot run."""
    messages = {str(m.get("id")): str(m.get("name") or m.get("id")) for m in tree.iter(f"{{{BPMN_NS}}}message")}
    out: list[Refusal] = []
    for process in tree.iter(f"{{{BPMN_NS}}}process"):
        for el in process.iter():
            tag = _local(el)
            if not tag or str(el.tag).startswith(f"{{{SPIFF_NS}}}"):
                continue
            node_id = el.get("id") or _nearest_id(el.getparent())
            if tag in REFUSED:
                vi, en = REFUSED[tag]
                out.append(
                    Refusal(
                        node_id, f"Không chạy được {node_id}: {vi}.", f"{node_id} cannot run here: {en}.", el.sourceline
                    )
                )
            elif tag in DATA_ELEMENTS:
                if any(_local(a) == "ioSpecification" for a in el.iterancestors()):
                    continue  # reported once, with its ioSpecification
                node_id = _flow_node_above(el) or node_id  # drawn: the task that declares it
                out.append(
                    Refusal(
                        node_id,
                        f"Không chạy được {node_id}: ứng dụng không dùng đối tượng dữ liệu, đầu vào/đầu ra "
                        f"khai báo ({tag}); dữ liệu của hồ sơ là các biến do lệnh và biểu mẫu gán.",
                        f"{node_id} cannot run here: the application does not use data objects or declared "
                        f"inputs/outputs ({tag}); an evaluation's data are the variables scripts and "
                        "forms set.",
                        el.sourceline,
                    )
                )
            elif tag == "standardLoopCharacteristics":
                out.append(
                    Refusal(
                        node_id,
                        f"Không chạy được {node_id}: ứng dụng không chạy vòng lặp chuẩn (standard loop).",
                        f"{node_id} cannot run here: standard loops are not supported.",
                        el.sourceline,
                    )
                )
            elif tag == "multiInstanceLoopCharacteristics":
                has_input = any(
                    _local(c) in ("loopCardinality", "loopDataInputRef") and (c.text or "").strip() for c in el
                )
                if not has_input:
                    out.append(
                        Refusal(
                            node_id,
                            f"Không chạy được {node_id}: bước lặp nhiều lần không nói lặp bao "
                            "nhiêu lần hay trên danh sách nào (loopCardinality / loopDataInputRef).",
                            f"{node_id} cannot run here: the multi-instance task says neither how many "
                            "times nor over which list (loopCardinality / loopDataInputRef).",
                            el.sourceline,
                        )
                    )
            elif tag == "subProcess" and el.get("triggeredByEvent") == "true":
                out.append(
                    Refusal(
                        node_id,
                        f"Không chạy được {node_id}: ứng dụng không chạy tiểu quy trình sự kiện (event sub-process).",
                        f"{node_id} cannot run here: event sub-processes are not supported.",
                        el.sourceline,
                    )
                )
            elif tag == "businessRuleTask":
                called = next(((c.text or "").strip() for c in el.iter(f"{{{SPIFF_NS}}}calledDecisionId")), "")
                if not called:
                    out.append(
                        Refusal(
                            node_id,
                            f"Bước xếp loại {node_id} chưa chọn bảng quyết định (calledDecisionId).",
                            f"The business rule task {node_id} names no decision table (calledDecisionId).",
                            el.sourceline,
                        )
                    )
                elif called not in decision_ids:
                    out.append(
                        Refusal(
                            node_id,
                            f"Bước xếp loại {node_id} gọi bảng quyết định “{called}” nhưng phiên "
                            "bản không có bảng này.",
                            f"The business rule task {node_id} calls the decision “{called}”, which is not "
                            "part of the version.",
                            el.sourceline,
                        )
                    )
            elif tag in EVENTS:
                out += _event(el, tag, node_id, messages)
    return out


def _event(el: etree._Element, tag: str, node_id: str, messages: dict[str, str]) -> list[Refusal]:
    definitions = [c for c in el if _local(c).endswith("EventDefinition")]
    kinds = [_local(c) for c in definitions]
    if not kinds:
        if tag == "boundaryEvent":
            return [
                Refusal(
                    node_id,
                    f"Sự kiện biên {node_id} không có loại (hẹn giờ).",
                    f"The boundary event {node_id} has no type (a timer).",
                    el.sourceline,
                )
            ]
        if tag == "intermediateCatchEvent":
            return [
                Refusal(
                    node_id,
                    f"Sự kiện chờ {node_id} không chờ gì (không hẹn giờ, không thông điệp).",
                    f"The catch event {node_id} waits for nothing (no timer, no message).",
                    el.sourceline,
                )
            ]
        return []
    out = []
    for definition, kind in zip(definitions, kinds):
        if kind == "terminateEventDefinition" and tag == "endEvent":
            continue
        if kind == "timerEventDefinition" and tag in ("intermediateCatchEvent", "boundaryEvent"):
            continue
        if kind == "messageEventDefinition" and tag == "intermediateCatchEvent":
            ref = definition.get("messageRef") or ""
            name = messages.get(ref, ref)
            if name in APP_MESSAGES:
                continue
            out.append(
                Refusal(
                    node_id,
                    f"Sự kiện {node_id} chờ thông điệp “{name or ''}” mà ứng dụng không bao giờ "
                    f"gửi (ứng dụng chỉ gửi: {', '.join(sorted(APP_MESSAGES))}): hồ sơ sẽ chờ mãi.",
                    f"The event {node_id} waits for the message “{name or ''}”, which the application "
                    f"never sends (it sends only: {', '.join(sorted(APP_MESSAGES))}): the evaluation "
                    "would wait for ever.",
                    el.sourceline,
                )
            )
            continue
        where = {
            "startEvent": ("sự kiện bắt đầu", "start event"),
            "endEvent": ("sự kiện kết thúc", "end event"),
            "intermediateCatchEvent": ("sự kiện chờ", "catch event"),
            "intermediateThrowEvent": ("sự kiện phát", "throw event"),
            "boundaryEvent": ("sự kiện biên", "boundary event"),
        }[tag]
        label = kind.replace("EventDefinition", "")
        if tag == "startEvent":
            vi_reason = "mỗi hồ sơ do ứng dụng mở khi mở kỳ đánh giá; sự kiện bắt đầu phải là loại thường"
            en_reason = (
                "the application starts every evaluation when a month opens; the start event must be a plain one"
            )
        else:
            vi_reason = "ứng dụng không phát hay bắt loại sự kiện này"
            en_reason = "the application neither throws nor catches this kind of event"
        out.append(
            Refusal(
                node_id,
                f"Không chạy được {node_id}: {where[0]} loại “{label}” — {vi_reason}.",
                f"{node_id} cannot run here: a “{label}” {where[1]} — {en_reason}.",
                el.sourceline,
            )
        )
    return out
