"""OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

It is a contract both ways: `spec_check.py` refuses every request the description refuses (before any
service runs), and tests/test_api_conformance.py runs schemathesis with all its checks against it."""

from app.rules.workdays import PERIOD_PATTERN
from app.services.reporting.filters import UNIT_PATTERN

_ERR = {"$ref": "#/components/schemas/Error"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _resp(desc, schema=None, media="application/json"):
    out = {"description": desc}
    if schema:
        out["content"] = {media: {"schema": schema}}
    return out


# Every error is an Error object. 400: malformed (a parameter or body the schema refuses, a body that is
# not a JSON object, NaN/Infinity or nesting too deep, a NUL character anywhere in the request).
# 422: well-formed, but a rule says no (a too short reason, a level above what the rules allow, the quota).
_ERROR_TEXT = {
    "400": "Malformed request: a parameter or body field the schema refuses (named in details), a body that "
    "is not a JSON object (or holds NaN, Infinity or nesting too deep), or a NUL character anywhere",
    "401": "No valid bearer token (or, when signing in, a wrong username or password)",
    "403": "The caller may not do this or see this",
    "404": "No such record, task or unit",
    "409": "The record or task is not in a state that allows this (changed meanwhile, already done, closed)",
    "413": "The request body is too large",
    "422": "Well-formed, but the data breaks a rule (fields named in details)",
    "429": "Too many failed sign-ins for this username: locked for a while",
    "503": "The database is unavailable; nothing was saved",
}


def _errors(*codes):
    return {c: _resp(_ERROR_TEXT[c], _ERR) for c in codes}


def _op(summary, ok, params=None, body=None, auth=True, media="application/json"):
    codes = ["400"] + (["401"] if auth else []) + ["403", "404"]
    if body:
        codes += ["409", "413", "422"]
    codes.append("503")
    op = {"summary": summary, "responses": {"200": _resp("OK", ok, media), **_errors(*codes)}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if auth:
        op["security"] = [{"bearer": []}]
    return op


def _write(op, *extra):
    """A write without a body (retry, remind) still meets a state that forbids it or a rule."""
    op["responses"].update(_errors(*(extra or ("409", "422"))))
    return op


def _q(name, pattern=None, schema=None):
    schema = dict(schema or {"type": "string"})
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "query", "required": False, "schema": schema}


# Ids are the database's integers: a larger number is refused by the spec check, never sent to a query.
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _p(name):
    return {"name": name, "in": "path", "required": True, "schema": dict(ID)}


# x-message / x-message-en: what spec_check.py answers (next to the field) when a value breaks the schema.
PERIOD = f"^{PERIOD_PATTERN}$"
PERIOD_FIELD = {
    "type": "string",
    "pattern": PERIOD,
    "x-message": "Kỳ đánh giá phải có dạng YYYY-MM (ví dụ 2026-10), năm 2000-2100.",
    "x-message-en": "The period must be YYYY-MM (e.g. 2026-10), years 2000-2100.",
}
UNIT = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": f"^{UNIT_PATTERN}$",
    "x-message": "Mã đơn vị không hợp lệ (1-64 ký tự, không ký tự điều khiển, không khoảng trắng ở hai đầu).",
    "x-message-en": "The unit code is not valid (1-64 characters, no control character, no blank at either end).",
}
REASON = {
    "type": "string",
    "minLength": 5,
    "maxLength": 500,
    "x-message": "Ghi rõ lý do (5-500 ký tự).",
    "x-message-en": "Give a reason (5 to 500 characters).",
}
RANGE = {
    "type": "string",
    "pattern": "^(20[0-9]{2}|2100)(-Q[1-4])?$",
    "x-message": "Kỳ tổng hợp phải có dạng YYYY-Qn (quý, ví dụ 2030-Q1) hoặc YYYY (năm, ví dụ 2030).",
    "x-message-en": "The range must be YYYY-Qn (a quarter, e.g. 2030-Q1) or YYYY (a year, e.g. 2030).",
}
USERNAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$"}
PLAN_ITEM_IN = {
    "type": "object",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 500},
        "product": {"type": "string", "maxLength": 500},
        "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 1},
        "deadline": {"type": "string", "format": "date"},
    },
}
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Đánh giá, xếp loại hằng tháng — API", "version": "1.0.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "message_en": {"type": "string"},
                    "details": {"type": "array"},
                },
            },
            "Task": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "instance_id": {"type": "integer"},
                    "step": {"type": "string"},
                    "title": {"type": "string"},
                    "subject": {"type": "object"},
                    "unit": {"type": "string"},
                    "period": {"type": "string"},
                    "due_at": {"type": ["string", "null"]},
                    "on_behalf_of": {"type": ["string", "null"]},
                },
            },
            "PlanItem": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "product": {"type": "string"},
                    "weight": {"type": "number"},
                    "deadline": {"type": ["string", "null"]},
                    "origin": {"enum": ["plan", "assigned", "arising", "afterwards"]},
                    "status": {"enum": ["pending", "accepted"]},
                    "added_by": {"type": ["string", "null"]},
                    "added_at": {"type": ["string", "null"]},
                    "done": {"type": ["boolean", "null"]},
                    "completed_on": {"type": ["string", "null"]},
                    "note": {"type": "string"},
                    "evidence": {"type": "array", "items": {"type": "integer"}},
                    "delays": {"type": "integer"},
                    "major_errors": {"type": "integer"},
                    "objective_cause": {"type": "boolean"},
                    "objective_reason": {"type": "string"},
                    "objective_confirmed": {"type": "boolean"},
                },
            },
            "Kpi": {
                "type": "object",
                "description": "Task-result measures (percent) and the points of the criteria "
                "computed from the work plan",
                "properties": {
                    "quantity": {"type": ["number", "null"]},
                    "quality": {"type": ["number", "null"]},
                    "timeliness": {"type": ["number", "null"]},
                    "weight": {"type": "number"},
                    "items": {"type": "array"},
                    "criteria": {"type": "object", "additionalProperties": {"type": "number"}},
                    "fallback": {"type": "string"},
                },
            },
            "Instance": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "status": {"type": "string"},
                    "subject": {"type": "object"},
                    "period": {"type": "string"},
                    "step": {"type": "string"},
                    "active_tasks": {"type": "array"},
                    "events": {"type": "array"},
                    "result": {"type": "object"},
                },
            },
        },
    },
    "paths": {
        "/api/v1/auth/token": {
            "post": _write(
                _op(
                    "Get a bearer token",
                    {"type": "object", "properties": {"token": {"type": "string"}, "expires_at": {"type": "string"}}},
                    auth=False,
                    body={
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                    },
                ),
                "401",
                "429",
            ),
            "delete": _op("Revoke this bearer token", {"type": "object", "properties": {"revoked": {"const": True}}}),
        },
        "/api/v1/tasks": {
            "get": _op("My ready tasks", {"type": "array", "items": {"$ref": "#/components/schemas/Task"}})
        },
        "/api/v1/tasks/{task_id}": {
            "get": _op("A task with its form schema and prefilled data", {"type": "object"}, params=[_p("task_id")])
        },
        "/api/v1/tasks/{task_id}/complete": {
            "post": _op(
                "Complete a task",
                {"type": "object"},
                params=[_p("task_id")],
                body={"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}},
            )
        },
        "/api/v1/cycles": {
            "post": _op(
                "Open a month for a unit",
                {"type": "object"},
                body={
                    "type": "object",
                    "required": ["unit", "period"],
                    "properties": {"unit": UNIT, "period": PERIOD_FIELD, "include_subunits": {"type": "boolean"}},
                },
            )
        },
        "/api/v1/instances": {
            "get": _op(
                "Evaluations I may see",
                {"type": "array"},
                params=[_q("unit", schema=UNIT), _q("period", schema=PERIOD_FIELD), _q("status"), _q("step")],
            )
        },
        "/api/v1/instances/{instance_id}": {
            "get": _op(
                "One evaluation with its history", {"$ref": "#/components/schemas/Instance"}, params=[_p("instance_id")]
            )
        },
        "/api/v1/instances/{instance_id}/appeal": {
            "post": _op(
                "Appeal a published result (subject only, inside the window)",
                {"type": "object"},
                params=[_p("instance_id")],
                body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
            )
        },
        "/api/v1/instances/{instance_id}/not-evaluated": {
            "post": _op(
                "Mark a month as not evaluated (direct manager or head), with a reason",
                {"type": "object"},
                params=[_p("instance_id")],
                body={
                    "type": "object",
                    "required": ["reason"],
                    "properties": {"reason": {"type": "string", "minLength": 5, "maxLength": 500}},
                },
            )
        },
        "/api/v1/decisions": {
            "post": _op(
                "The decider's batch decision",
                {"type": "object"},
                body={
                    "type": "object",
                    "required": ["unit", "period", "items"],
                    "properties": {
                        "unit": UNIT,
                        "period": PERIOD_FIELD,
                        "exceptional_reason": {"type": "string"},
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["instance_id"],
                                "properties": {
                                    "instance_id": ID,
                                    "level": {"enum": ["A", "B", "C", "D"]},
                                    "reason": {"type": "string"},
                                    "objective_cause_confirmed": {"type": "boolean"},
                                    "capacity": {
                                        "type": "number",
                                        "minimum": 0,
                                        "maximum": 100,
                                        "description": "A leader's capacity to organise the "
                                        "work (percent, Decree 335; default 100)",
                                    },
                                },
                            },
                        },
                    },
                },
            )
        },
        "/api/v1/plans": {
            "get": _op(
                "Work plans of a period (the caller's own, their reports', their units'), one entry per person",
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "instance_id": {"type": "integer"},
                            "person": {"type": "string"},
                            "full_name": {"type": "string"},
                            "unit": {"type": "string"},
                            "status": {"type": "string"},
                            "completion": {"type": ["number", "null"]},
                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/PlanItem"}},
                        },
                    },
                },
                params=[dict(_q("period", schema=PERIOD_FIELD), required=True), _q("person", schema=USERNAME)],
            )
        },
        "/api/v1/plans/{username}/{period}/items": {
            "post": _op(
                "Add an item to a person's plan during the month: the manager assigns work (in the plan at once), "
                "the person adds work that came up (pending until the manager accepts it, at the latest in the review)",
                {"$ref": "#/components/schemas/PlanItem"},
                params=[
                    {"name": "username", "in": "path", "required": True, "schema": USERNAME},
                    {"name": "period", "in": "path", "required": True, "schema": PERIOD_FIELD},
                ],
                body=PLAN_ITEM_IN,
            )
        },
        "/api/v1/reports/monthly": {
            "get": _op(
                "Monthly results of a unit",
                {"type": "object"},
                params=[
                    dict(_q("unit", schema=UNIT), required=True),
                    dict(_q("period", schema=PERIOD_FIELD), required=True),
                ],
            )
        },
        "/api/v1/reports/rollup": {
            "get": _op(
                "Quarter or year roll-up of a unit: per person the mean of the final monthly totals and its level",
                {
                    "type": "object",
                    "properties": {
                        "unit": {"type": "string"},
                        "unit_name": {"type": "string"},
                        "range": {"type": "string"},
                        "periods": {"type": "array", "items": {"type": "string"}},
                        "people": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "username": {"type": "string"},
                                    "full_name": {"type": "string"},
                                    "unit": {"type": "string"},
                                    "months": {
                                        "type": "object",
                                        "additionalProperties": {
                                            "type": "object",
                                            "properties": {
                                                "total": {"type": "number"},
                                                "level": {"enum": ["A", "B", "C", "D"]},
                                                "unit": {"type": "string"},
                                            },
                                        },
                                    },
                                    "not_evaluated": {"type": "array", "items": {"type": "string"}},
                                    "evaluated_months": {"type": "integer"},
                                    "mean": {"type": ["number", "null"]},
                                    "level": {"enum": ["A", "B", "C", "D", None]},
                                    "counts": {"type": "object"},
                                },
                            },
                        },
                        "summary": {
                            "type": "object",
                            "properties": {
                                "people": {"type": "integer"},
                                "counts": {"type": "object"},
                                "mean": {"type": ["number", "null"]},
                            },
                        },
                    },
                },
                params=[dict(_q("unit", schema=UNIT), required=True), dict(_q("range", schema=RANGE), required=True)],
            )
        },
    },
}

from .openapi_monitor import paths as _monitor_paths

SPEC["paths"].update(_monitor_paths(_op, _q, _p, PERIOD_FIELD, unit=UNIT, reason=REASON, write=_write, xlsx=XLSX))

from .openapi_evidence import paths as _evidence_paths

SPEC["paths"].update(_evidence_paths(_op, _p, _errors))
