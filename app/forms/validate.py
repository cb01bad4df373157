"""Server-side validation of form data with jsonschema, as bilingual errors keyed by HTML field name."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .schema import FormError, deref, enum_options, field_name, schema_type

__all__ = ["FieldError", "validate", "strip_readonly", "clean", "errors_by_field"]

_FORMAT_CHECKER = FormatChecker()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field.

    ``field`` is the HTML field name (``scores[I.1]``, ``deductions[0][reason]``, ``bonus_reason``;
    ``""`` for the form as a whole); ``message`` is Vietnamese, ``message_en`` English; ``kind`` is the
    JSON Schema keyword that failed (``required``, ``maximum``…).
    """

    field: str
    message: str
    message_en: str
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------- readOnly
def strip_readonly(schema: dict[str, Any], data: Any) -> Any:
    """A copy of ``data`` without the values of ``readOnly`` properties (at any depth).

    Call it on every submission before validating and storing, so a client cannot forge
    a read-only section (the self-evaluation shown in the review, the result…).
    """
    return _strip(schema, schema, data)


def _strip(root: dict[str, Any], node: Any, data: Any) -> Any:
    node = deref(root, node)
    if not isinstance(node, dict):
        return data
    if isinstance(data, dict):
        props = node.get("properties") or {}
        out = {}
        for key, value in data.items():
            sub = deref(root, props.get(key))
            if isinstance(sub, dict) and sub.get("readOnly") is True:
                continue
            out[key] = _strip(root, sub, value) if isinstance(sub, dict) else value
        return out
    if isinstance(data, list) and isinstance(node.get("items"), dict):
        return [_strip(root, node["items"], item) for item in data]
    return data


# -------------------------------------------------------------------------------------- validation
def validate(schema: dict[str, Any], data: Any) -> list[FieldError]:
    """Every problem of ``data`` against ``schema`` (read-only values are ignored), in form order.

    ``schema`` should be the output of :func:`app.forms.expand`; never raises for bad data.
    """
    if not schema.get("x-expanded") and _has_unexpanded(schema):
        raise FormError(
            "validate() needs the expanded schema: call expand(schema, context) first (x-criteria has no criteria yet)"
        )
    data = strip_readonly(schema, data)
    data, bad_numbers = _without_unusable_numbers(data)
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    out: list[FieldError] = [_number_error(schema, path) for path in bad_numbers]
    seen: set[tuple[str, str]] = {(e.field, e.message) for e in out}
    said = {e.field for e in out}  # a refused number is reported once, not again as "must be a number"
    try:
        for error in validator.iter_errors(data):
            for fe in _convert(schema, error):
                key = (fe.field, fe.message)
                if key not in seen and fe.field not in said:
                    seen.add(key)
                    out.append(fe)
    except (ArithmeticError, RecursionError) as exc:  # a keyword the data still overwhelms: an error, not a crash
        log.warning("form validation gave up: %s: %s", type(exc).__name__, exc)
        out.append(FieldError("", "Dữ liệu biểu mẫu không hợp lệ.", "The form data is not valid.", "invalid"))
    # a type error makes other messages about the same field noise
    typed = {e.field for e in out if e.kind == "type"}
    out = [e for e in out if e.kind == "type" or e.field not in typed or e.kind not in ("enum", "oneOf", "const")]
    order = _field_order(schema)
    return sorted(out, key=lambda e: _sort_key(order, e.field))


def _unusable_number(value: Any) -> bool:
    """NaN, ±infinity, or an integer too large to compute with (jsonschema and the rules use floats)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return True
    return False


def _without_unusable_numbers(data: Any) -> tuple[Any, list[list[Any]]]:
    """A copy of ``data`` with every unusable number replaced by None, and the paths where they were.
    Walks iteratively: the data may come from anywhere."""
    paths: list[list[Any]] = []
    root = {"": data}
    stack: list[tuple[Any, Any, list[Any]]] = [(root, "", [])]
    while stack:
        parent, key, path = stack.pop()
        value = parent[key]
        if _unusable_number(value):
            parent[key] = None
            paths.append(path)
        elif isinstance(value, dict):
            parent[key] = mapping = dict(value)
            stack.extend((mapping, k, path + [k]) for k in mapping)
        elif isinstance(value, list):
            parent[key] = items = list(value)
            stack.extend((items, i, path + [i]) for i in range(len(items)))
    return root[""], sorted(paths, key=lambda p: [str(x) for x in p])


def _number_error(root: dict[str, Any], path: list[Any]) -> FieldError:
    vi, en = _labels(root, path)
    return FieldError(
        field_name(path),
        f"{vi}: không phải là một số hợp lệ (quá lớn hoặc không xác định).",
        f"{en}: is not a valid number (too large or undefined).",
        "type",
    )


def _has_unexpanded(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("x-criteria") is True and "properties" not in node:
            return True
        return any(_has_unexpanded(v) for k, v in node.items() if k not in ("const", "default", "enum"))
    if isinstance(node, list):
        return any(_has_unexpanded(v) for v in node)
    return False


def clean(schema: dict[str, Any], data: Any) -> tuple[Any, list[FieldError]]:
    """``(strip_readonly(schema, data), validate(schema, data))`` — what a service stores and reports."""
    return strip_readonly(schema, data), validate(schema, data)


def errors_by_field(errors: Iterable[FieldError]) -> dict[str, list[FieldError]]:
    out: dict[str, list[FieldError]] = {}
    for e in errors:
        out.setdefault(e.field, []).append(e)
    return out


# ----------------------------------------------------------------------------------------- mapping
def _convert(root: dict[str, Any], error: ValidationError) -> list[FieldError]:
    path = list(error.absolute_path)
    kind = str(error.validator)
    value: Any = error.validator_value  # the keyword's value in the schema: any JSON
    instance = error.instance

    if kind == "required":
        missing = [p for p in (value or []) if not (isinstance(instance, dict) and p in instance)]
        out: list[FieldError] = []
        for prop in missing:
            out.extend(_required_errors(root, path + [prop]))
        return out

    if kind == "additionalProperties" and isinstance(instance, dict):
        props = _node_at(root, path) or {}
        known = set((props.get("properties") or {}).keys())
        extras = [k for k in instance if k not in known]
        return [
            FieldError(
                field_name(path + [k]),
                f"Trường “{k}” không có trong biểu mẫu.",
                f"Field “{k}” is not part of this form.",
                kind,
            )
            for k in extras
        ]

    node = _node_at(root, path) or (error.schema if isinstance(error.schema, dict) else {})
    vi, en = _labels(root, path)
    field = field_name(path)

    if kind == "maximum":
        return [FieldError(field, f"{vi}: tối đa là {_vi(value)}.", f"{en}: the maximum is {_en(value)}.", kind)]
    if kind == "minimum":
        return [FieldError(field, f"{vi}: tối thiểu là {_vi(value)}.", f"{en}: the minimum is {_en(value)}.", kind)]
    if kind == "exclusiveMinimum":
        return [
            FieldError(field, f"{vi}: phải lớn hơn {_vi(value)}.", f"{en}: must be greater than {_en(value)}.", kind)
        ]
    if kind == "exclusiveMaximum":
        return [FieldError(field, f"{vi}: phải nhỏ hơn {_vi(value)}.", f"{en}: must be less than {_en(value)}.", kind)]
    if kind == "multipleOf":
        if value == 0.5:
            return [
                FieldError(
                    field,
                    f"{vi}: chỉ nhập theo bước 0,5 (ví dụ 4 hoặc 4,5).",
                    f"{en}: use steps of 0.5 (e.g. 4 or 4.5).",
                    kind,
                )
            ]
        return [
            FieldError(
                field, f"{vi}: phải là bội số của {_vi(value)}.", f"{en}: must be a multiple of {_en(value)}.", kind
            )
        ]
    if kind == "type":
        want = value[0] if isinstance(value, list) and value else value
        vi_t, en_t = _TYPE_TEXT.get(want, ("không đúng kiểu dữ liệu", "has the wrong type"))
        return [FieldError(field, f"{vi}: {vi_t}.", f"{en}: {en_t}.", kind)]
    if kind in ("enum", "const") or (kind in ("oneOf", "anyOf") and enum_options({kind: value})):
        opts = (
            enum_options(node)
            or enum_options(
                {kind: value} if kind in ("oneOf", "anyOf") else {"enum": value if kind == "enum" else [value]}
            )
            or []
        )
        allowed = ", ".join(str(v) for v, _, _ in opts)
        if not opts:
            return [
                FieldError(field, f"{vi}: không có giá trị nào được phép chọn.", f"{en}: no value may be chosen.", kind)
            ]
        return [
            FieldError(
                field,
                f"{vi}: giá trị “{_short(instance)}” không hợp lệ; chọn một trong: {allowed}.",
                f"{en}: “{_short(instance)}” is not allowed; choose one of: {allowed}.",
                kind,
            )
        ]
    if kind == "minLength":
        if value == 1 or (isinstance(instance, str) and not instance.strip()):
            return _required_errors(root, path, kind)
        n = len(instance) if isinstance(instance, str) else 0
        return [
            FieldError(
                field,
                f"{vi}: cần ít nhất {value} ký tự (hiện có {n}).",
                f"{en}: at least {value} characters are needed (now {n}).",
                kind,
            )
        ]
    if kind == "maxLength":
        n = len(instance) if isinstance(instance, str) else 0
        return [
            FieldError(
                field,
                f"{vi}: tối đa {value} ký tự (hiện có {n}).",
                f"{en}: at most {value} characters (now {n}).",
                kind,
            )
        ]
    if kind == "pattern":
        if value == "\\S":
            return [FieldError(field, f"{vi}: không được để trống.", f"{en}: must not be blank.", kind)]
        return [FieldError(field, f"{vi}: không đúng định dạng.", f"{en}: has the wrong format.", kind)]
    if kind == "format":
        return [FieldError(field, f"{vi}: không đúng định dạng {value}.", f"{en}: is not a valid {value}.", kind)]
    if kind == "maxItems":
        return [FieldError(field, f"{vi}: tối đa {value} dòng.", f"{en}: at most {value} rows.", kind)]
    if kind == "minItems":
        return [FieldError(field, f"{vi}: cần ít nhất {value} dòng.", f"{en}: at least {value} rows are needed.", kind)]
    if kind == "uniqueItems":
        return [FieldError(field, f"{vi}: có dòng bị trùng.", f"{en}: has duplicate rows.", kind)]
    if kind in ("maxProperties", "minProperties", "propertyNames", "dependentRequired", "false"):
        pass
    return [FieldError(field, f"{vi}: giá trị không hợp lệ.", f"{en}: {error.message}", kind)]


_TYPE_TEXT = {
    "number": ("phải là một số (ví dụ 8 hoặc 8,5)", "must be a number (e.g. 8 or 8.5)"),
    "integer": ("phải là một số nguyên", "must be a whole number"),
    "boolean": ("phải là Có hoặc Không", "must be yes or no"),
    "string": ("phải là văn bản", "must be text"),
    "object": ("không đúng cấu trúc", "has the wrong structure"),
    "array": ("phải là một danh sách", "must be a list"),
    "null": ("phải để trống", "must be empty"),
}


def _required_errors(root: dict[str, Any], path: list[Any], kind: str = "required") -> list[FieldError]:
    """A missing object with required children reports each child, so errors sit next to inputs."""
    node = _node_at(root, path)
    if isinstance(node, dict) and schema_type(node) == "object" and node.get("required") and node.get("properties"):
        out: list[FieldError] = []
        for child in node["required"]:
            out.extend(_required_errors(root, path + [child], kind))
        return out
    vi, en = _labels(root, path)
    if isinstance(node, dict) and enum_options(node) is not None and schema_type(node) != "boolean":
        return [FieldError(field_name(path), f"Vui lòng chọn “{vi}”.", f"Please choose “{en}”.", kind)]
    return [FieldError(field_name(path), f"Vui lòng nhập “{vi}”.", f"Please enter “{en}”.", kind)]


def _node_at(root: dict[str, Any], path: list[Any]) -> dict[str, Any] | None:
    node: Any = deref(root, root)
    for part in path:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            items = node.get("items")
            node = deref(root, items) if isinstance(items, dict) else None
        else:
            props = node.get("properties") or {}
            node = deref(root, props.get(part)) if part in props else None
    return node if isinstance(node, dict) else None


def _labels(root: dict[str, Any], path: list[Any]) -> tuple[str, str]:
    """Vietnamese and English names of a field, with the row number inside lists."""
    if not path:
        return root.get("title") or "Biểu mẫu", root.get("x-title-en") or "The form"
    node = _node_at(root, path) or {}
    last = path[-1]
    vi = node.get("title") or str(last)
    en = node.get("x-title-en") or node.get("title") or str(last)
    if node.get("x-code") and not vi.startswith(str(node["x-code"])):
        vi, en = f"{node['x-code']}. {vi}", f"{node['x-code']}. {en}"
    # name the row: "Điểm trừ, dòng 2 — Lý do trừ điểm"
    for i in range(len(path) - 1, -1, -1):
        if isinstance(path[i], int):
            parent = _node_at(root, path[:i]) or {}
            pv = parent.get("title") or str(path[i - 1] if i else "")
            pe = parent.get("x-title-en") or pv
            if i == len(path) - 1:
                return f"{pv}, dòng {path[i] + 1}", f"{pe}, row {path[i] + 1}"
            return f"{pv}, dòng {path[i] + 1} — {vi}", f"{pe}, row {path[i] + 1} — {en}"
    return vi, en


def _field_order(root: dict[str, Any]) -> dict[str, int]:
    """Position of every field in the form; list rows are left out (``deductions[reason]``)."""
    order: dict[str, int] = {}

    def walk(node: Any, prefix: list[Any]) -> None:
        node = deref(root, node)
        if not isinstance(node, dict):
            return
        for key, sub in (node.get("properties") or {}).items():
            order.setdefault(field_name(prefix + [key]), len(order))
            walk(sub, prefix + [key])
        if isinstance(node.get("items"), dict):
            walk(node["items"], prefix)

    walk(root, [])
    return order


def _sort_key(order: Mapping[str, int], field: str) -> tuple[Any, ...]:
    generic = _ROW_INDEX.sub("", field)
    top = field.split("[", 1)[0]
    rows = [int(n) for n in _ROW_INDEX.findall(field)]
    end = len(order)
    return (order.get(top, end), rows, order.get(generic, end), field)


_ROW_INDEX = re.compile(r"\[(\d+)\]")


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "…"


def _vi(v: Any) -> str:
    """Number in Vietnamese notation: 0,5 / 25."""
    return _en(v).replace(".", ",")


def _en(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
