"""Form schemas: load them from a process version's files and expand the custom keywords.

A form is a JSON Schema (draft 2020-12) with a few ``x-`` keywords that jsonschema ignores and that
:func:`expand` resolves against a per-task *context* (the scheme's criteria, the month's working days…):

``x-criteria: true``
    the property becomes an object with one number per criterion of ``context["criteria"]``
    (0…max, step 0.5, all required, no other keys). Group headings come from
    ``context["criteria_groups"]``.
``x-maximum-from: KEY`` / ``x-minimum-from: KEY``
    ``maximum`` / ``minimum`` taken from ``context[KEY]`` when present.
``x-enum-from: KEY``
    restrict an enum (``enum`` or ``oneOf`` of ``const``) to the values in ``context[KEY]``.
``{KEY}`` placeholders in ``title``/``description`` (and their ``-en`` twins) are filled from the
context; a parenthesis holding an unknown placeholder is dropped.

Display-only keywords used by the renderer: ``x-title-en``, ``x-description-en``, ``x-source``
(read-only section fed from task data), ``x-empty-text``/``x-empty-text-en``, ``x-computed: total``,
``x-show-when``, ``x-enum-titles``/``x-enum-titles-en`` (alternative to ``oneOf``/``const``).

Pure functions: no Flask, no database.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app import strict_json

__all__ = [
    "FormError",
    "context_keys",
    "expand",
    "load_form",
    "forms_from_directory",
    "field_name",
    "split_field_name",
    "enum_options",
    "criteria_groups",
    "deref",
    "STEP",
]

STEP = 0.5
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TEXT_KEYS = ("title", "x-title-en", "description", "x-description-en")


class FormError(ValueError):
    """A form file is missing from the process version, or is not valid JSON / JSON Schema."""


# --------------------------------------------------------------------------------------------- load
def load_form(forms: Mapping[str, str | bytes | dict[str, Any]], filename: str) -> dict[str, Any]:
    """The schema ``filename`` from a mapping filename -> JSON text (or already parsed dict).

    ``filename`` may carry a folder (``forms/review.json``); the bare name is tried too.
    Returns a fresh deep copy; raises :class:`FormError` with a clear message otherwise.
    """
    if not filename:
        raise FormError("No form file is configured for this task (formJsonSchemaFilename is empty)")
    candidates = [filename, filename.replace("\\", "/").rsplit("/", 1)[-1]]
    for name in candidates:
        if name in forms:
            raw = forms[name]
            break
    else:
        available = ", ".join(sorted(forms)) or "none"
        raise FormError(f"Form file {filename!r} is not part of this process version (available: {available})")
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError(f"Form file {filename!r} is not UTF-8: {exc}") from None
    if isinstance(raw, str):
        try:
            schema = strict_json.loads(raw)
        except strict_json.Refused as exc:
            raise FormError(
                f"Form file {filename!r} is not usable JSON: {exc.message_en} {', '.join(exc.places)}".rstrip()
            ) from None
        except json.JSONDecodeError as exc:
            raise FormError(
                f"Form file {filename!r} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        if isinstance(schema, dict):
            _check_text(filename, raw)  # the meta-schema check once per distinct text, not per request
    elif isinstance(raw, dict):
        schema = copy.deepcopy(raw)
        _check(filename, schema)
    else:
        raise FormError(f"Form file {filename!r} has unsupported content type {type(raw).__name__}")
    if not isinstance(schema, dict):
        raise FormError(f"Form file {filename!r} must hold a JSON object, not {type(schema).__name__}")
    if schema.get("type", "object") != "object":
        raise FormError(f'Form file {filename!r} must describe an object ("type": "object")')
    return schema


def _check(filename: str, schema: dict[str, Any]) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise FormError(f"Form file {filename!r} is not a valid JSON Schema at {where}: {exc.message}") from None


@lru_cache(maxsize=512)
def _check_text(filename: str, text: str) -> None:
    """check_schema costs ~20 ms; a text that passed once passes again (failures are not cached)."""
    _check(filename, strict_json.loads(text))


def forms_from_directory(path: str | os.PathLike[str]) -> dict[str, str]:
    """Every ``*.json`` file of a folder as filename -> text (how a process version stores its forms)."""
    out: dict[str, str] = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".json"):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                out[name] = f.read()
    return out


# ------------------------------------------------------------------------------------------- expand
def expand(schema: dict[str, Any], context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of ``schema`` with the custom keywords resolved against ``context``."""
    context = context or {}
    out: dict[str, Any] = _expand_node(copy.deepcopy(schema), context)
    if isinstance(out, dict):
        out["x-expanded"] = True
    return out


# what x-criteria reads from the context (_expand_criteria)
_CRITERIA_KEYS = ("criteria", "computed_criteria", "precise_criteria", "plan_items_present", "criteria_groups")


def context_keys(schema: Any) -> frozenset[str]:
    """The context values :func:`expand` reads for ``schema``: two contexts that agree on these give the
    same expansion (a caller may keep it)."""
    keys: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if node.get("x-criteria") is True:
            keys.update(_CRITERIA_KEYS)
        for keyword in ("x-maximum-from", "x-minimum-from", "x-enum-from"):
            if isinstance(node.get(keyword), str):
                keys.add(node[keyword])
        for key in _TEXT_KEYS:
            if isinstance(node.get(key), str):
                keys.update(_PLACEHOLDER.findall(node[key]))
        stack.extend(v for k, v in node.items() if k not in ("const", "default", "enum", "examples"))
    return frozenset(keys)


def _expand_node(node: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_expand_node(item, context) for item in node]
    if not isinstance(node, dict):
        return node
    for key, value in list(node.items()):
        if key in ("const", "default", "enum", "examples"):
            continue
        node[key] = _expand_node(value, context)
    if node.get("x-criteria") is True:
        _expand_criteria(node, context)
    for keyword, target in (("x-maximum-from", "maximum"), ("x-minimum-from", "minimum")):
        src = node.get(keyword)
        if isinstance(src, str) and _is_number(context.get(src)):
            node[target] = context[src]
    src = node.get("x-enum-from")
    if isinstance(src, str) and isinstance(context.get(src), (list, tuple)):
        allowed = list(context[src])
        if isinstance(node.get("enum"), list):
            keep = [i for i, v in enumerate(node["enum"]) if v in allowed]
            for titles in ("x-enum-titles", "x-enum-titles-en"):
                if isinstance(node.get(titles), list):
                    node[titles] = [node[titles][i] for i in keep if i < len(node[titles])]
            node["enum"] = [node["enum"][i] for i in keep]
        if isinstance(node.get("oneOf"), list) and all(isinstance(o, dict) and "const" in o for o in node["oneOf"]):
            node["oneOf"] = [o for o in node["oneOf"] if o["const"] in allowed]
            if not node["oneOf"]:  # "oneOf": [] is not a valid schema; nothing is allowed
                del node["oneOf"]
                node["enum"] = []
    for key in _TEXT_KEYS:
        if isinstance(node.get(key), str) and "{" in node[key]:
            node[key] = _format_text(node[key], context)
    return node


def _expand_criteria(node: dict[str, Any], context: Mapping[str, Any]) -> None:
    criteria = context.get("criteria") or []
    computed = set(context.get("computed_criteria") or []) if node.get("x-plan-computed", True) else set()
    precise = set(context.get("precise_criteria") or []) | computed
    props: dict[str, dict[str, Any]] = {}
    for c in criteria:
        code = str(c["code"])
        prop: dict[str, Any] = {
            "type": "number",
            "minimum": 0,
            "maximum": c["max"],
            "multipleOf": STEP,
            "title": c.get("name") or code,
            "x-code": code,
            "x-group": str(c.get("group") or ""),
        }
        if c.get("name_en"):
            prop["x-title-en"] = c["name_en"]
        if c.get("description"):
            prop["description"] = c["description"]
        if c.get("description_en"):
            prop["x-description-en"] = c["description_en"]
        if code in precise:
            del prop["multipleOf"]  # computed points are kept to 0.01, typed ones may follow them
        if code in computed:
            # points computed from the work plan (app/rules/kpi.py): never required; read-only once the
            # month has items, typed only when it has none (the fallback)
            prop["x-computed"] = "plan"
            if context.get("plan_items_present"):
                prop["readOnly"] = True
                prop["description"] = "Tính từ kế hoạch công tác khi gửi."
                prop["x-description-en"] = "Computed from the work plan on submission."
        props[code] = prop
    node["type"] = "object"
    node["properties"] = props
    node["required"] = [code for code in props if code not in computed]
    node["additionalProperties"] = False
    node["x-groups"] = criteria_groups(criteria, context.get("criteria_groups"))


def criteria_groups(
    criteria: Iterable[Mapping[str, Any]], names: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Groups in order of first appearance: ``{"code", "title", "x-title-en"?, "max"}``."""
    names = names or {}
    groups: dict[str, dict[str, Any]] = {}
    for c in criteria:
        code = str(c.get("group") or "")
        g = groups.get(code)
        if g is None:
            label = names.get(code)
            g = {"code": code, "max": 0}
            if isinstance(label, Mapping):
                g["title"] = label.get("title") or label.get("name") or f"Nhóm {code}"
                en = label.get("title_en") or label.get("name_en") or label.get("x-title-en")
                if en:
                    g["x-title-en"] = en
            else:
                g["title"] = str(label) if label else (f"Nhóm {code}" if code else "Tiêu chí")
                if not label:
                    g["x-title-en"] = f"Group {code}" if code else "Criteria"
            groups[code] = g
        g["max"] = _num(g["max"] + float(c.get("max") or 0))
    return list(groups.values())


def _format_text(text: str, context: Mapping[str, Any]) -> str:
    def known(m: re.Match[str]) -> bool:
        v = context.get(m.group(1))
        return isinstance(v, (str, int, float)) and not isinstance(v, bool)

    # drop "(… {unknown} …)" so a missing context value leaves a clean sentence
    def drop_paren(m: re.Match[str]) -> str:
        return m.group(0) if all(known(p) for p in _PLACEHOLDER.finditer(m.group(0))) else ""

    text = re.sub(r"\s*\([^()]*\{[A-Za-z_][A-Za-z0-9_]*\}[^()]*\)", drop_paren, text)
    text = _PLACEHOLDER.sub(lambda m: _fmt_value(context[m.group(1)]) if known(m) else "", text)
    return re.sub(r"\s+([.,;:])", r"\1", text).strip()


def _fmt_value(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


# ------------------------------------------------------------------------------- helpers for others
def deref(root: dict[str, Any], node: Any) -> Any:
    """Resolve a local ``$ref`` (``#/$defs/...``), merging sibling keywords over the target."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#") and seen < 20:
        target: Any = root
        for part in node["$ref"][1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return node
        merged = dict(target)
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
        seen += 1
    return node


def field_name(path: Iterable[Any]) -> str:
    """HTML field name of a data path: ``("deductions", 0, "reason")`` -> ``deductions[0][reason]``."""
    parts = [str(p) for p in path]
    if not parts:
        return ""
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def split_field_name(name: str) -> list[str]:
    """Inverse of :func:`field_name` (indexes stay strings)."""
    m = re.match(r"^([^\[\]]*)((?:\[[^\[\]]*\])*)$", name)
    if not m:
        return [name]
    return [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2))


def enum_options(node: Mapping[str, Any]) -> list[tuple[Any, str, str]] | None:
    """``[(value, title_vi, title_en)]`` of an enum property, or None if it is not one.

    Supports ``oneOf``/``anyOf`` of ``{"const", "title", "x-title-en"}`` and ``enum`` with optional
    ``x-enum-titles`` / ``x-enum-titles-en`` arrays.
    """
    for key in ("oneOf", "anyOf"):
        alts = node.get(key)
        if isinstance(alts, list) and alts and all(isinstance(a, dict) and "const" in a for a in alts):
            return [(a["const"], str(a.get("title", a["const"])), str(a.get("x-title-en", ""))) for a in alts]
    if isinstance(node.get("enum"), list):
        values = node["enum"]
        titles = node.get("x-enum-titles") or []
        titles_en = node.get("x-enum-titles-en") or []
        return [
            (v, str(titles[i]) if i < len(titles) else str(v), str(titles_en[i]) if i < len(titles_en) else "")
            for i, v in enumerate(values)
        ]
    if "const" in node:
        return [(node["const"], str(node.get("title", node["const"])), str(node.get("x-title-en", "")))]
    return None


def schema_type(node: Mapping[str, Any]) -> str | None:
    """The main JSON type of a property schema (first non-null of a type list; inferred for enums)."""
    t = node.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t:
        return str(t)
    if "properties" in node or node.get("x-criteria"):
        return "object"
    if "items" in node:
        return "array"
    opts = enum_options(node)
    if opts:
        vals = [v for v, _, _ in opts]
        if all(isinstance(v, bool) for v in vals):
            return "boolean"
        if all(_is_number(v) for v in vals):
            return "number"
        return "string"
    return None
