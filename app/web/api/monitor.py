"""JSON API for monitoring (issue #5): the dashboard, the evaluation and task lists with filters and
keyset paging, the monthly Excel export, and HR operations. Registered on the same /api/v1 blueprint
(imported at the end of routes.py) and described in openapi.py (MONITOR_PATHS)."""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, jsonify, request

from app.database import reads_replica
from app.services.evaluation import operations
from app.services.reporting import dashboard, exports, filters
from app.services.errors import BadRequest

from .routes import body, bp, instance_json, token_required


def _iso(v):
    return v.isoformat() if isinstance(v, datetime) else v


def _page_json(page) -> dict:
    return {
        "items": [
            {
                k: _iso(v) if not isinstance(v, list) else [{kk: _iso(vv) for kk, vv in w.items()} for w in v]
                for k, v in item.items()
            }
            for item in page.items
        ],
        "next_cursor": page.next_cursor,
        "total": page.total,
        "total_capped": page.total_capped,
    }


@bp.get("/dashboard")
@token_required
@reads_replica
def dashboard_view():
    board = dashboard.build(g.api_user, request.args.get("unit") or None, request.args.get("period") or None)
    return jsonify(dashboard.json_ready(board))


@bp.get("/evaluations")
@token_required
@reads_replica
def evaluation_list():
    return jsonify(_page_json(filters.run(g.api_user, "evaluations", request.args)))


@bp.get("/human-tasks")
@token_required
@reads_replica
def human_task_list():
    return jsonify(_page_json(filters.run(g.api_user, "tasks", request.args)))


@bp.get("/reports/monthly.xlsx")
@token_required
@reads_replica
def monthly_xlsx():
    name, content = exports.monthly_workbook(g.api_user, request.args.get("unit", ""), request.args.get("period", ""))
    return Response(content, mimetype=exports.XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _reason() -> str | None:
    return body().get("reason")


@bp.post("/instances/<int:instance_id>/suspend")
@token_required
def instance_suspend(instance_id):
    return jsonify(instance_json(operations.suspend(g.api_user, instance_id, _reason()), with_events=False))


@bp.post("/instances/<int:instance_id>/resume")
@token_required
def instance_resume(instance_id):
    outcome = operations.resume(g.api_user, instance_id, _reason())
    return jsonify(dict(instance_json(outcome["instance"], with_events=False), overdue_steps=outcome["overdue_steps"]))


@bp.post("/instances/<int:instance_id>/terminate")
@token_required
def instance_terminate(instance_id):
    return jsonify(instance_json(operations.terminate(g.api_user, instance_id, _reason()), with_events=False))


@bp.post("/instances/<int:instance_id>/retry")
@token_required
def instance_retry(instance_id):
    return jsonify(instance_json(operations.retry(g.api_user, instance_id), with_events=False))


@bp.post("/human-tasks/<int:task_id>/reassign")
@token_required
def task_reassign(task_id):
    data = body()
    task = operations.reassign(g.api_user, task_id, data.get("assignee"), data.get("reason"))
    return jsonify({"id": task.id, "step": task.step, "assignee": task.assignee.username if task.assignee else None})


@bp.post("/human-tasks/<int:task_id>/extend")
@token_required
def task_extend(task_id):
    data = body()
    if not isinstance(data.get("due_date"), str):
        raise BadRequest("Thiếu due_date (YYYY-MM-DD).", "due_date (YYYY-MM-DD) is required.")
    return jsonify(operations.extend_deadline(g.api_user, task_id, data["due_date"], data.get("reason")))


@bp.post("/human-tasks/<int:task_id>/remind")
@token_required
def task_remind(task_id):
    task = operations.resend(g.api_user, task_id)
    return jsonify({"id": task.id, "assignee": task.assignee.username if task.assignee else None})
