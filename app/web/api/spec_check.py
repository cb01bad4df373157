"""Every API request is checked against the operation's OpenAPI description before a service runs, so the
API refuses exactly what its spec refuses: a query parameter or body field that breaks its schema is a 400
naming the field, or a 422 when the value is well-formed but too short, too long or not a real date (the
services give those 422s too, with the same field named).

The validator is jsonschema-rs, the one schemathesis checks the spec with: ECMA-style patterns (`$` is
the end of the text, `[0-9]` is ASCII), so "what the spec says" means the same thing here and there."""

from __future__ import annotations

import logging
import re
from functools import cache

import jsonschema_rs
from flask import request

from app.services.errors import BadRequest, Invalid

from .openapi import SPEC

log = logging.getLogger(__name__)

# In a body, length and date-format errors are rules about a well-formed value: 422, as the services answer them.
_RULE_KINDS = {"MinLength", "MaxLength", "Format"}
_RULE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _openapi_path(rule: str) -> str:
    return _RULE_PARAM.sub(r"{\1}", rule)


@cache
def _validator(schema_key: str):
    """One compiled validator per schema (keyed by its JSON pointer in SPEC)."""
    node = SPEC
    for part in schema_key.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/")]
    return jsonschema_rs.validator_for(node, validate_formats=True)


def _operation():
    rule = request.url_rule.rule if request.url_rule is not None else ""
    path = _openapi_path(rule)
    method = request.method.lower()
    operation = SPEC["paths"].get(path, {}).get(method)
    return path.replace("/", "~1"), method, operation


def _messages(schema: dict, field: str, fallback: str) -> tuple[str, str]:
    """The field's own explanation (x-message / x-message-en in the spec), else a plain one in Vietnamese
    and the validator's words in English."""
    if "x-message" in schema:
        return schema["x-message"], schema.get("x-message-en", schema["x-message"])
    return f"Giá trị của {field} không đúng mô tả của API.", fallback


def _subschema(schema: dict, path) -> dict:
    node = schema
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}


def _refuse(problems: list[tuple[str, str, tuple[str, str]]], in_body: bool) -> None:
    """problems: (field, error kind, (message, message_en)). A query parameter out of shape is always
    malformed (400); in a body, a value only too short, too long or not a date is a broken rule (422)."""
    details = [{"field": name, "message": vi, "message_en": en} for name, _, (vi, en) in problems]
    names = ", ".join(dict.fromkeys(name for name, _, _ in problems))
    log.info("API request refused by the OpenAPI schema: %s %s (%s)", request.method, request.path, names)
    first_vi, first_en = problems[0][2]
    if in_body and all(kind in _RULE_KINDS for _, kind, _ in problems):
        raise Invalid(f"Dữ liệu chưa hợp lệ ({names}): {first_vi}", f"Invalid data ({names}): {first_en}", details)
    raise BadRequest(f"Yêu cầu không hợp lệ ({names}): {first_vi}", f"Malformed request ({names}): {first_en}", details)


def _kind(error) -> str:
    return type(error.kind).__name__


def check_query() -> None:
    key, method, operation = _operation()
    if operation is None:
        return
    problems = []
    for i, param in enumerate(operation.get("parameters", [])):
        if param["in"] != "query":
            continue
        name = param["name"]
        if name not in request.args:
            if param.get("required"):
                problems.append((name, "Required", (f"Thiếu tham số {name}.", f"The '{name}' parameter is required.")))
            continue
        validator = _validator(f"paths/{key}/{method}/parameters/{i}/schema")
        for error in validator.iter_errors(request.args[name]):
            problems.append((name, _kind(error), _messages(param["schema"], name, error.message)))
    if problems:
        _refuse(problems, in_body=False)


def _body_field(error) -> str:
    path = [str(p) for p in error.instance_path]
    missing = getattr(error.kind, "property", None)  # a required property names itself
    if missing is not None and _kind(error) == "Required":
        path.append(str(missing))
    return ".".join(path) or "body"


def check_body(read_body) -> None:
    key, method, operation = _operation()
    content = (operation or {}).get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        return _check_form(key, method, content["multipart/form-data"]["schema"])
    if "application/json" not in content:
        return
    data = read_body()
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    _refuse_invalid(data, schema, f"paths/{key}/{method}/requestBody/content/application~1json/schema")


_WHOLE = re.compile(r"-?[0-9]+(\.0*)?")  # 7 and 7.0 are both the integer 7 in JSON Schema


def _check_form(key: str, method: str, schema: dict) -> None:
    """A multipart body as its schema says: text fields as sent (integers read from their digits), a
    field sent twice as a list, each file part as a string (its bytes are the route's to check)."""
    properties = schema.get("properties", {})
    if any(not isinstance(name, str) for name in (*request.form.keys(), *request.files.keys())):
        _refuse(
            [("body", "Malformed", ("Một phần của biểu mẫu không có tên.", "A part of the form has no name."))],
            in_body=False,
        )
    data: dict = {}
    for name in request.form:
        values = request.form.getlist(name)
        types = _types(properties.get(name, {}))
        if "integer" in types:
            # exactly, without a float (400 digits made it infinity, then an OverflowError); a number too
            # long for any id stays text, which the schema then refuses as not an integer
            values = [
                int(v.strip().split(".")[0]) if _WHOLE.fullmatch(v.strip()) and len(v) <= 40 else v for v in values
            ]
        if "null" in types:
            values = [None if v == "null" else v for v in values]  # a form has no null: the text stands for it
        data[name] = values[0] if len(values) == 1 else values
    for name in request.files:
        data[name] = "" if len(request.files.getlist(name)) == 1 else [""] * len(request.files.getlist(name))
    _refuse_invalid(data, schema, f"paths/{key}/{method}/requestBody/content/multipart~1form-data/schema")


def _refuse_invalid(data: object, schema: dict, pointer: str) -> None:
    """A 400 naming every field of the body that breaks its schema (JSON and multipart alike)."""
    problems = []
    for error in _validator(pointer).iter_errors(data):
        field = _body_field(error)
        subschema = _subschema(schema, list(error.schema_path)[:-1])
        problems.append((field, _kind(error), _messages(subschema, field, error.message)))
    if problems:
        _refuse(problems, in_body=True)


def _types(schema: dict) -> set[str]:
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set(schema.get("type") or [])
    for option in schema.get("anyOf", []):
        found |= _types(option)
    return found
