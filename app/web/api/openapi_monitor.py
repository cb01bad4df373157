"""OpenAPI paths of the monitoring endpoints (issue #5), merged into SPEC by openapi.py."""
from __future__ import annotations


def paths(_op, _q, _p, period: str) -> dict:
    reason = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 5}}}
    filters = [_q("unit"), _q("period", period), _q("step"), _q("status"), _q("level", "^(A|B|C|D|none)$"),
               _q("overdue", "^(0|1|true|false)$"), _q("assignee"), _q("name"), _q("sort"), _q("cursor"),
               _q("limit", "^[0-9]{1,3}$")]
    page = {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]},
        "total": {"type": "integer"}, "total_capped": {"type": "boolean"}}}
    return {
        "/api/v1/dashboard": {"get": _op(
            "Dashboard of a unit subtree and month, scoped to the caller: funnel (records per status), overdue "
            "tasks per step and holder, completion per sub-unit, level distribution, the last 12 months",
            {"type": "object", "properties": {
                "unit": {"type": "object"}, "period": {"type": "string"}, "scope": {"enum": ["all", "units", "people"]},
                "summary": {"type": "object"}, "funnel": {"type": "array"}, "overdue": {"type": "array"},
                "completion": {"type": "array"}, "levels": {"type": "object"}, "trend": {"type": "array"}}},
            params=[_q("unit"), _q("period", period)])},
        "/api/v1/evaluations": {"get": _op(
            "Evaluations the caller may see, filtered (status: a record status, open, done, suspended or error; "
            "level: A-D or none = no published result; overdue: a waiting task past its due time; assignee: the "
            "username holding a waiting task; name: part of the name). Sort: name, unit, status, total, period, "
            "updated (prefix - for descending). Keyset paging: pass next_cursor back as cursor. 400 for "
            "malformed values, 403 for a unit outside the caller's scope.", page, params=filters)},
        "/api/v1/human-tasks": {"get": _op(
            "Human tasks (ready, completed, cancelled) the caller may see, with the same filters; sort: due, name, "
            "step, unit, created.", page, params=filters)},
        "/api/v1/reports/monthly.xlsx": {"get": _op(
            "The monthly result list of a unit as an Excel file (Vietnamese headers, ready to print)",
            {"type": "string", "format": "binary"}, params=[dict(_q("unit"), required=True),
                                                            dict(_q("period", period), required=True)])},
        "/api/v1/instances/{instance_id}/suspend": {"post": _op(
            "Suspend a running evaluation (HR of its agency or admin): completions are refused and timers skip it",
            {"type": "object"}, params=[_p("instance_id")], body=reason)},
        "/api/v1/instances/{instance_id}/resume": {"post": _op(
            "Resume a suspended evaluation; overdue_steps lists deadlines that passed meanwhile",
            {"type": "object"}, params=[_p("instance_id")], body=reason)},
        "/api/v1/instances/{instance_id}/terminate": {"post": _op(
            "Terminate an evaluation that has no published result", {"type": "object"},
            params=[_p("instance_id")], body=reason)},
        "/api/v1/instances/{instance_id}/retry": {"post": _op(
            "Run an evaluation stopped by an engine error again; 409 naming the BPMN element if it fails again",
            {"type": "object"}, params=[_p("instance_id")])},
        "/api/v1/human-tasks/{task_id}/reassign": {"post": _op(
            "Give a waiting task to someone else (not the self-evaluation, not the decider's authority)",
            {"type": "object"}, params=[_p("task_id")], body={
                "type": "object", "required": ["assignee", "reason"],
                "properties": {"assignee": {"type": "string"}, "reason": {"type": "string", "minLength": 5}}})},
        "/api/v1/human-tasks/{task_id}/extend": {"post": _op(
            "Extend a waiting task's deadline to the end of a working day: the due date and the waiting timers "
            "(deadline and reminder) move; later steps keep their working days", {"type": "object"},
            params=[_p("task_id")], body={
                "type": "object", "required": ["due_date", "reason"],
                "properties": {"due_date": {"type": "string", "format": "date"},
                               "reason": {"type": "string", "minLength": 5}}})},
        "/api/v1/human-tasks/{task_id}/remind": {"post": _op(
            "Send the holder of a waiting task a reminder again (at most once per 10 minutes)", {"type": "object"},
            params=[_p("task_id")])},
    }
