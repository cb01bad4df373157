"""OpenAPI paths of the monitoring endpoints (issue #5), merged into SPEC by openapi.py."""

from __future__ import annotations


def paths(_op, _q, _p, period: dict, unit: dict, reason: dict, write, xlsx: str) -> dict:
    """The filters say exactly what app/services/reporting/filters.py accepts: an empty value means "no filter", except
    for unit and period, which are checked whenever they are given."""
    text = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"  # tab and line breaks allowed, no other control

    def said(name, pattern, vi, en, **schema):
        return _q(name, schema={"type": "string", "pattern": pattern, **schema, "x-message": vi, "x-message-en": en})

    def filters(kind: str) -> list:
        sorts = "name|unit|status|total|period|updated" if kind == "evaluations" else "due|name|step|unit|created"
        status = "^([A-Za-z_][A-Za-z0-9_.-]{0,31})?$" if kind == "evaluations" else "^(ready|completed|cancelled)?$"
        return [
            _q("unit", schema=unit),
            _q("period", schema=period),
            said(
                "step",
                "^([A-Za-z_][A-Za-z0-9_.-]{0,63})?$",
                "Tên bước không hợp lệ.",
                "The step is not a valid BPMN id.",
            ),
            said("status", status, "Trạng thái không hợp lệ.", "The status is not valid."),
            said(
                "level",
                "^(A|B|C|D|none)?$",
                "Xếp loại phải là A, B, C, D hoặc none.",
                "The level is A, B, C, D or none.",
            ),
            said("overdue", "^(0|1|true|false)?$", "overdue phải là 1 hoặc 0.", "overdue is 1 or 0."),
            said(
                "assignee",
                text,
                "Tên đăng nhập không hợp lệ (tối đa 64 ký tự).",
                "The username is not valid (at most 64 characters).",
                maxLength=64,
            ),
            said(
                "name",
                text,
                "Tên tìm kiếm không hợp lệ (tối đa 100 ký tự).",
                "The name is not valid (at most 100 characters).",
                maxLength=100,
            ),
            said(
                "sort",
                f"^(-?({sorts}))?$",
                f"Sắp xếp theo một trong: {sorts.replace('|', ', ')}.",
                f"Sort by one of {sorts.replace('|', ', ')} (prefix - for descending).",
            ),
            dict(
                said("cursor", "^[A-Za-z0-9_=-]{0,500}$", "Con trỏ trang không hợp lệ.", "The cursor is not valid."),
                description="Opaque: next_cursor of the previous page; any other value is refused (400)",
            ),
            said("limit", "^([1-9]|[1-9][0-9]|1[0-9]{2}|200)?$", "limit phải từ 1 đến 200.", "limit is 1 to 200."),
        ]

    with_reason = {"type": "object", "required": ["reason"], "properties": {"reason": reason}}
    page = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "next_cursor": {"type": ["string", "null"]},
            "total": {"type": "integer"},
            "total_capped": {"type": "boolean"},
        },
    }
    return {
        "/api/v1/dashboard": {
            "get": _op(
                "Dashboard of a unit subtree and month, scoped to the caller: funnel (records per status), overdue "
                "tasks per step and holder, completion per sub-unit, level distribution, the last 12 months",
                {
                    "type": "object",
                    "properties": {
                        "unit": {"type": "object"},
                        "period": {"type": "string"},
                        "scope": {"enum": ["all", "units", "people"]},
                        "summary": {"type": "object"},
                        "funnel": {"type": "array"},
                        "overdue": {"type": "array"},
                        "completion": {"type": "array"},
                        "levels": {"type": "object"},
                        "trend": {"type": "array"},
                    },
                },
                params=[_q("unit", schema=unit), _q("period", schema=period)],
            )
        },
        "/api/v1/evaluations": {
            "get": _op(
                "Evaluations the caller may see, filtered (status: a record status, open, done, suspended or error; "
                "level: A-D or none = no published result; overdue: a waiting task past its due time; assignee: the "
                "username holding a waiting task; name: part of the name). Sort: name, unit, status, total, period, "
                "updated (prefix - for descending). Keyset paging: pass next_cursor back as cursor. 400 for "
                "malformed values, 403 for a unit outside the caller's scope, 404 for an unknown unit.",
                page,
                params=filters("evaluations"),
            )
        },
        "/api/v1/human-tasks": {
            "get": _op(
                "Human tasks (ready, completed, cancelled) the caller may see, with the same filters; sort: due, name, "
                "step, unit, created.",
                page,
                params=filters("tasks"),
            )
        },
        "/api/v1/reports/monthly.xlsx": {
            "get": _op(
                "The monthly result list of a unit as an Excel file (Vietnamese headers, ready to print)",
                {"type": "string", "format": "binary"},
                media=xlsx,
                params=[dict(_q("unit", schema=unit), required=True), dict(_q("period", schema=period), required=True)],
            )
        },
        "/api/v1/instances/{instance_id}/suspend": {
            "post": _op(
                "Suspend a running evaluation (HR of its agency or admin): completions are refused and timers skip it",
                {"type": "object"},
                params=[_p("instance_id")],
                body=with_reason,
            )
        },
        "/api/v1/instances/{instance_id}/resume": {
            "post": _op(
                "Resume a suspended evaluation; overdue_steps lists deadlines that passed meanwhile",
                {"type": "object"},
                params=[_p("instance_id")],
                body=with_reason,
            )
        },
        "/api/v1/instances/{instance_id}/terminate": {
            "post": _op(
                "Terminate an evaluation that has no published result",
                {"type": "object"},
                params=[_p("instance_id")],
                body=with_reason,
            )
        },
        "/api/v1/instances/{instance_id}/retry": {
            "post": write(
                _op(
                    "Run an evaluation stopped by an engine error again; 409 naming the BPMN element if it fails again",
                    {"type": "object"},
                    params=[_p("instance_id")],
                )
            )
        },
        "/api/v1/human-tasks/{task_id}/reassign": {
            "post": _op(
                "Give a waiting task to someone else (not the self-evaluation, not the decider's authority)",
                {"type": "object"},
                params=[_p("task_id")],
                body={
                    "type": "object",
                    "required": ["assignee", "reason"],
                    "properties": {"assignee": {"type": "string"}, "reason": reason},
                },
            )
        },
        "/api/v1/human-tasks/{task_id}/extend": {
            "post": _op(
                "Extend a waiting task's deadline to the end of a working day: the due date and the waiting timers "
                "(deadline and reminder) move; later steps keep their working days",
                {"type": "object"},
                params=[_p("task_id")],
                body={
                    "type": "object",
                    "required": ["due_date", "reason"],
                    "properties": {"due_date": {"type": "string", "format": "date"}, "reason": reason},
                },
            )
        },
        "/api/v1/human-tasks/{task_id}/remind": {
            "post": write(
                _op(
                    "Send the holder of a waiting task a reminder again (at most once per 10 minutes)",
                    {"type": "object"},
                    params=[_p("task_id")],
                )
            )
        },
    }
