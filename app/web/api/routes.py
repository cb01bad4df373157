"""JSON API /api/v1 (README.md). Bearer-token auth; errors are {error, message, details}."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, jsonify, request

from app.extensions import csrf
from app.models import HumanTask, ProcessInstance
from app.services.evaluation import absence, appeals, cycles, decisions, instance_details, instances, plans, tasks
from app.services.organisation import access, accounts
from app.services.reporting import reports
from app.services.errors import BadRequest, Forbidden, ServiceError

from . import spec_check
from .openapi import SPEC

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user = accounts.user_for_token(token) if token else None
        if user is None:
            raise Unauthorized(
                "Cần mã truy cập hợp lệ (Authorization: Bearer ...).", "A valid bearer token is required."
            )
        g.api_user = user
        conforms()
        return view(*args, **kwargs)

    return wrapper


def conforms() -> None:
    """The request as the OpenAPI description says it must be (400/422 naming the field otherwise)."""
    spec_check.check_query()
    spec_check.check_body(body)  # parses the body only for an operation that has one


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", "The request body must be a JSON object.")
    return data


def _iso(dt):
    return dt.isoformat() if dt else None


def task_json(t: HumanTask, viewer=None) -> dict:
    acting_for = t.assignee if viewer is not None and t.assignee_id != viewer.id else t.on_behalf_of
    return {
        "id": t.id,
        "instance_id": t.instance_id,
        "step": t.step,
        "title": t.title,
        "subject": {"username": t.subject.username, "full_name": t.subject.full_name},
        "unit": t.unit.code,
        "period": t.period,
        "due_at": _iso(t.due_at),
        "on_behalf_of": acting_for.username if acting_for else None,
    }


def instance_json(
    instance: ProcessInstance, with_events: bool = True, open_tasks: list[HumanTask] | None = None
) -> dict:
    record = instances.record_of(instance)
    if open_tasks is None:
        open_tasks = instance_details.ready_tasks(instance)
    out = {
        "id": instance.id,
        "status": instance.status,
        "record_status": record.status,
        "subject": {"username": instance.subject.username, "full_name": instance.subject.full_name},
        "unit": instance.unit.code,
        "period": instance.period,
        "step": instance.step,
        "version": instance.version.version,
        "active_tasks": [
            {
                "id": t.id,
                "step": t.step,
                "assignee": t.assignee.username if t.assignee else None,
                "due_at": _iso(t.due_at),
            }
            for t in open_tasks
        ],
        "result": {
            "total": record.total,
            "level": record.level if record.published_at else None,
            "proposed_level": record.proposed_level,
            "self_total": record.self_total,
            "scores": record.scores,
            "rules_applied": record.rules_applied,
            "published_at": _iso(record.published_at),
            "appeal_due": _iso(record.appeal_due),
            "locked_at": _iso(record.locked_at),
            "kpi": kpi_json(record),
        },
    }
    if with_events:
        events = instance_details.events(instance)
        out["events"] = [
            {
                "at": _iso(e.at),
                "action": e.action,
                "step": e.step,
                "actor": e.actor.username if e.actor else None,
                "on_behalf_of": e.on_behalf_of.username if e.on_behalf_of else None,
                "details": e.details,
            }
            for e in events
        ]
    return out


def kpi_json(record) -> dict:
    """The plan's measures and computed points as reviewed; before the review, the items as they stand."""
    if isinstance(record.kpi, dict):
        return record.kpi
    items = [plans.as_dict(i) for i in plans.items_of(record.instance_id)]
    return {
        "quantity": None,
        "quality": None,
        "timeliness": None,
        "weight": round(sum(i["weight"] for i in items if i["weight"] > 0), 4),
        "items": items,
        "criteria": {},
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)


@bp.post("/auth/token")
def token():
    conforms()
    data = body()
    result = accounts.sign_in(
        str(data.get("username") or ""), str(data.get("password") or ""), request.remote_addr or ""
    )
    if result.user is None:
        raise Unauthorized(result.error, result.error_en)
    value, expires = accounts.issue_token(result.user)
    return jsonify({"token": value, "expires_at": expires.isoformat()})


@bp.delete("/auth/token")
@token_required
def revoke_token():
    """Sign this token out (the others of the user stay valid)."""
    accounts.revoke_token(request.headers.get("Authorization", "")[7:].strip())
    return jsonify({"revoked": True})


@bp.get("/tasks")
@token_required
def task_list():
    return jsonify([task_json(t, g.api_user) for t in tasks.inbox(g.api_user)])


@bp.get("/tasks/<int:task_id>")
@token_required
def task_detail(task_id):
    view = tasks.view(task_id, g.api_user)
    return jsonify(
        dict(
            task_json(view.task, g.api_user),
            schema=view.schema,
            ui_schema=view.ui_schema,
            data=view.data,
            instructions=view.instructions,
            revision_note=view.context.get("revision_note"),
            result=view.context.get("result"),
        )
    )


@bp.post("/tasks/<int:task_id>/complete")
@token_required
def task_complete(task_id):
    data = body().get("data")
    if not isinstance(data, dict):
        raise BadRequest("Thiếu trường data (đối tượng JSON).", "Missing 'data' (a JSON object).")
    task, open_tasks = tasks.complete_with_open(task_id, g.api_user, data)
    # the answer is built before the request's commit expires the session: no reload of the instance
    return jsonify({"instance": instance_json(task.instance, with_events=False, open_tasks=open_tasks)})


@bp.post("/cycles")
@token_required
def cycle_open():
    data = body()
    result = cycles.open_month(data.get("unit"), data.get("period"), bool(data.get("include_subunits")), g.api_user)
    return jsonify({"started": result["started"], "skipped": result["skipped"]})


@bp.get("/instances")
@token_required
def instance_list():
    args = request.args
    rows = instance_details.listing(
        g.api_user,
        period=args.get("period"),
        unit=args.get("unit"),
        status=args.get("status"),
        step=args.get("step"),
        limit=1000,
    )
    return jsonify([instance_json(i, with_events=False) for i in rows])


@bp.get("/instances/<int:instance_id>")
@token_required
def instance_detail(instance_id):
    instance = instances.get(instance_id)
    access.require_view(g.api_user, instance)
    return jsonify(instance_json(instance))


@bp.post("/decisions")
@token_required
def decide():
    data = body()
    outcome = decisions.decide(
        g.api_user, data.get("unit"), data.get("period"), data.get("items"), data.get("exceptional_reason")
    )
    return jsonify(outcome)


@bp.post("/instances/<int:instance_id>/appeal")
@token_required
def appeal(instance_id):
    data = body()
    appeals.submit(instance_id, g.api_user, {"reason": data.get("reason")} if "reason" in data else {})
    return jsonify(instance_json(instances.get(instance_id), with_events=False))


@bp.post("/instances/<int:instance_id>/not-evaluated")
@token_required
def not_evaluated(instance_id):
    absence.mark_not_evaluated(instance_id, g.api_user, str(body().get("reason") or ""))
    return jsonify(instance_json(instances.get(instance_id), with_events=False))


@bp.get("/reports/monthly")
@token_required
def monthly_report():
    scope = access.visible_unit_ids(g.api_user)
    if scope is not None and not scope:
        raise Forbidden("Anh/chị không có quyền xem báo cáo.", "You may not see reports.")
    unit = request.args.get("unit")
    if not unit:
        raise BadRequest("Thiếu tham số unit.", "The 'unit' parameter is required.")
    return jsonify(reports.monthly(unit, request.args.get("period", ""), scope))


@bp.get("/reports/rollup")
@token_required
def rollup_report():
    """Quarter / year roll-up (tổng hợp) of a unit: ?unit=CODE&range=YYYY-Qn|YYYY."""
    from app.services.reporting import rollup

    scope = access.visible_unit_ids(g.api_user)
    if scope is not None and not scope:
        raise Forbidden("Anh/chị không có quyền xem báo cáo.", "You may not see reports.")
    unit = request.args.get("unit")
    if not unit:
        raise BadRequest("Thiếu tham số unit.", "The 'unit' parameter is required.")
    return jsonify(rollup.compute(unit, request.args.get("range", ""), scope))


@bp.get("/plans")
@token_required
def plan_list():
    """The work plans of a period the caller may see: ?period=YYYY-MM[&person=username]."""
    period = request.args.get("period")
    if not period:
        raise BadRequest("Thiếu tham số period.", "The 'period' parameter is required.")
    return jsonify(plans.listing(g.api_user, period, request.args.get("person")))


@bp.post("/plans/<username>/<period>/items")
@token_required
def plan_add_item(username, period):
    """Add an item during the month: the manager assigns work, the person adds work that came up."""
    return jsonify(plans.add_item(g.api_user, username, period, body()))


from . import monitor  # noqa: F401  (dashboard, lists and operations: issue #5)
from . import evidence  # noqa: F401  (evidence and comments: issue #14)
