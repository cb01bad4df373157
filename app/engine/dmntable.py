"""Read and rewrite the decision tables of a DMN file, for the designer's table editor.

Only what a table editor changes is rewritten: the hit policy, the column headers (label and
expression of inputs, label and name of outputs) and the rules. Everything else in the file (other
decisions, the DMN diagram, ids of kept rules) stays as it was. Cells are Python expressions (what
SpiffWorkflow evaluates), an input cell "-" or empty matches anything.
"""

from __future__ import annotations

import uuid
from typing import Any

from lxml import etree

from . import specs


class TableError(ValueError):
    pass


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if _local(c) == name), None)


def _text_of(el: etree._Element | None) -> str:
    text = _child(el, "text") if el is not None else None
    return (text.text or "") if text is not None else ""


def _root(text: str) -> etree._Element:
    if specs.unsafe_xml(text):
        raise TableError("DOCTYPE/ENTITY declarations are not allowed")
    try:
        return etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise TableError(str(exc)) from None


def read_tables(text: str) -> list[dict[str, Any]]:
    """[{decision_id, decision_name, table_id, hit_policy, inputs, outputs, rules}] of a DMN file."""
    out = []
    for decision in _root(text).iter():
        if _local(decision) != "decision":
            continue
        table = _child(decision, "decisionTable")
        if table is None:
            continue
        inputs = [
            {"id": i.get("id"), "label": i.get("label") or "", "expression": _text_of(_child(i, "inputExpression"))}
            for i in table
            if _local(i) == "input"
        ]
        outputs = [
            {
                "id": o.get("id"),
                "label": o.get("label") or "",
                "name": o.get("name") or "",
                "type": o.get("typeRef") or "",
            }
            for o in table
            if _local(o) == "output"
        ]
        rules = []
        for rule in (r for r in table if _local(r) == "rule"):
            desc = _child(rule, "description")
            rules.append(
                {
                    "id": rule.get("id"),
                    "description": (desc.text or "") if desc is not None else "",
                    "inputs": [_text_of(e) for e in rule if _local(e) == "inputEntry"],
                    "outputs": [_text_of(e) for e in rule if _local(e) == "outputEntry"],
                }
            )
        out.append(
            {
                "decision_id": decision.get("id"),
                "decision_name": decision.get("name") or "",
                "table_id": table.get("id"),
                "hit_policy": table.get("hitPolicy") or "UNIQUE",
                "inputs": inputs,
                "outputs": outputs,
                "rules": rules,
            }
        )
    return out


def write_table(text: str, decision_id: str, table: dict[str, Any]) -> str:
    """The DMN file with the table of `decision_id` replaced by `table` (the shape read_tables gives;
    rules without an id get a new one)."""
    root = _root(text)
    ns = etree.QName(root).namespace
    decision = next((d for d in root.iter() if _local(d) == "decision" and d.get("id") == decision_id), None)
    if decision is None:
        raise TableError(f"no decision {decision_id!r}")
    node = _child(decision, "decisionTable")
    if node is None:
        raise TableError(f"decision {decision_id!r} has no table")

    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    if table.get("hit_policy") in ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"):
        node.set("hitPolicy", table["hit_policy"])
    inputs = [i for i in node if _local(i) == "input"]
    outputs = [o for o in node if _local(o) == "output"]
    for el, col in zip(inputs, table.get("inputs") or []):
        el.set("label", col.get("label", el.get("label") or ""))
        expr = _child(el, "inputExpression")
        if expr is not None and "expression" in col:
            text_el = _child(expr, "text")
            if text_el is None:
                text_el = etree.SubElement(expr, q("text"))
            text_el.text = col["expression"]
    for el, col in zip(outputs, table.get("outputs") or []):
        el.set("label", col.get("label", el.get("label") or ""))
        if col.get("name"):
            el.set("name", col["name"])
    for rule in [r for r in node if _local(r) == "rule"]:
        node.remove(rule)
    taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def new_id(prefix: str) -> str:
        while True:
            candidate = f"{prefix}_{uuid.uuid4().hex[:8]}"
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    for row in table.get("rules") or []:
        rid = row.get("id") if row.get("id") and row.get("id") not in taken else new_id("rule")
        taken.add(rid)
        rule = etree.SubElement(node, q("rule"), id=rid)
        if row.get("description"):
            etree.SubElement(rule, q("description")).text = row["description"]
        cells = list(row.get("inputs") or [])
        for i in range(len(inputs)):
            entry = etree.SubElement(rule, q("inputEntry"), id=new_id(f"{rid}_in"))
            etree.SubElement(entry, q("text")).text = (cells[i] if i < len(cells) else "").strip() or "-"
        cells = list(row.get("outputs") or [])
        for i in range(len(outputs)):
            entry = etree.SubElement(rule, q("outputEntry"), id=new_id(f"{rid}_out"))
            etree.SubElement(entry, q("text")).text = (cells[i] if i < len(cells) else "").strip()
    etree.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode") + "\n"
