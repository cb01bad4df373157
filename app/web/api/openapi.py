"""OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

_ERR = {"$ref": "#/components/schemas/Error"}


def _resp(desc, schema=None):
    out = {"description": desc}
    if schema:
        out["content"] = {"application/json": {"schema": schema}}
    return out


_ERRORS = {str(c): _resp(d, _ERR) for c, d in (("400", "Bad request"), ("401", "No valid token"),
                                                ("403", "Not allowed"), ("404", "Not found"),
                                                ("409", "Conflict"), ("422", "Invalid data"))}


def _op(summary, ok, params=None, body=None, auth=True):
    op = {"summary": summary, "responses": {"200": _resp("OK", ok), **_ERRORS}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if auth:
        op["security"] = [{"bearer": []}]
    return op


def _q(name, pattern=None):
    schema = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _p(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


PERIOD = "^[0-9]{4}-[0-9]{2}$"
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Đánh giá, xếp loại hằng tháng — API", "version": "1.0.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error", "message"],
                      "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                     "message_en": {"type": "string"}, "details": {"type": "array"}}},
            "Task": {"type": "object", "properties": {
                "id": {"type": "integer"}, "instance_id": {"type": "integer"}, "step": {"type": "string"},
                "title": {"type": "string"}, "subject": {"type": "object"}, "unit": {"type": "string"},
                "period": {"type": "string"}, "due_at": {"type": ["string", "null"]},
                "on_behalf_of": {"type": ["string", "null"]}}},
            "Instance": {"type": "object", "properties": {
                "id": {"type": "integer"}, "status": {"type": "string"}, "subject": {"type": "object"},
                "period": {"type": "string"}, "step": {"type": "string"}, "active_tasks": {"type": "array"},
                "events": {"type": "array"}, "result": {"type": "object"}}},
        },
    },
    "paths": {
        "/api/v1/auth/token": {"post": _op("Get a bearer token", {"type": "object"}, auth=False, body={
            "type": "object", "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}),
            "delete": _op("Revoke this bearer token", {"type": "object"})},
        "/api/v1/tasks": {"get": _op("My ready tasks", {"type": "array", "items": {"$ref": "#/components/schemas/Task"}})},
        "/api/v1/tasks/{task_id}": {"get": _op("A task with its form schema and prefilled data", {"type": "object"},
                                               params=[_p("task_id")])},
        "/api/v1/tasks/{task_id}/complete": {"post": _op(
            "Complete a task", {"type": "object"}, params=[_p("task_id")],
            body={"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}})},
        "/api/v1/cycles": {"post": _op("Open a month for a unit", {"type": "object"}, body={
            "type": "object", "required": ["unit", "period"],
            "properties": {"unit": {"type": "string"}, "period": {"type": "string", "pattern": PERIOD},
                           "include_subunits": {"type": "boolean"}}})},
        "/api/v1/instances": {"get": _op("Evaluations I may see", {"type": "array"},
                                         params=[_q("unit"), _q("period", PERIOD), _q("status"), _q("step")])},
        "/api/v1/instances/{instance_id}": {"get": _op("One evaluation with its history",
                                                       {"$ref": "#/components/schemas/Instance"},
                                                       params=[_p("instance_id")])},
        "/api/v1/instances/{instance_id}/appeal": {"post": _op(
            "Appeal a published result (subject only, inside the window)", {"type": "object"},
            params=[_p("instance_id")],
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/api/v1/instances/{instance_id}/not-evaluated": {"post": _op(
            "Mark a month as not evaluated (direct manager or head), with a reason", {"type": "object"},
            params=[_p("instance_id")],
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/api/v1/decisions": {"post": _op("The decider's batch decision", {"type": "object"}, body={
            "type": "object", "required": ["unit", "period", "items"],
            "properties": {"unit": {"type": "string"}, "period": {"type": "string", "pattern": PERIOD},
                           "exceptional_reason": {"type": "string"},
                           "items": {"type": "array", "items": {
                               "type": "object", "required": ["instance_id"],
                               "properties": {"instance_id": {"type": "integer"},
                                              "level": {"enum": ["A", "B", "C", "D"]},
                                              "reason": {"type": "string"},
                                              "objective_cause_confirmed": {"type": "boolean"}}}}}})},
        "/api/v1/reports/monthly": {"get": _op("Monthly results of a unit", {"type": "object"},
                                               params=[_q("unit"), _q("period", PERIOD)])},
        "/api/v1/reports/rollup": {"get": _op(
            "Quarter or year roll-up of a unit: per person the mean of the final monthly totals and its level",
            {"type": "object", "properties": {
                "unit": {"type": "string"}, "unit_name": {"type": "string"}, "range": {"type": "string"},
                "periods": {"type": "array", "items": {"type": "string"}},
                "people": {"type": "array", "items": {"type": "object", "properties": {
                    "username": {"type": "string"}, "full_name": {"type": "string"}, "unit": {"type": "string"},
                    "months": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                        "total": {"type": "number"}, "level": {"enum": ["A", "B", "C", "D"]},
                        "unit": {"type": "string"}}}},
                    "not_evaluated": {"type": "array", "items": {"type": "string"}},
                    "evaluated_months": {"type": "integer"}, "mean": {"type": ["number", "null"]},
                    "level": {"enum": ["A", "B", "C", "D", None]}, "counts": {"type": "object"}}}},
                "summary": {"type": "object", "properties": {
                    "people": {"type": "integer"}, "counts": {"type": "object"},
                    "mean": {"type": ["number", "null"]}}}}},
            params=[dict(_q("unit"), required=True), dict(_q("range", "^[0-9]{4}(-Q[1-4])?$"), required=True)])},
    },
}

from .openapi_monitor import paths as _monitor_paths  # noqa: E402  (issue #5)

SPEC["paths"].update(_monitor_paths(_op, _q, _p, PERIOD))
