"""Dashboard, lists with filters, exports, the printable evaluation sheet and HR operations (issue #5).
Thin routes: every rule lives in app.services (dashboard, filters, exports, operations, instance_details)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import i18n
from app.database import reads_replica
from app.i18n import N_
from app.models.workflow import TASK_READY
from app.rules.levels import LEVELS
from app.services.evaluation import instance_details, instances, operations, steps
from app.services.reporting import dashboard, exports, filters
from app.services.errors import ServiceError

from .. import stash

bp = Blueprint("dashboard", __name__)

LIST_TITLES = {"evaluations": N_("Danh sách hồ sơ đánh giá"), "tasks": N_("Danh sách việc")}


@bp.route("/dashboard")
@login_required
@reads_replica
def overview():
    board = dashboard.build(current_user, request.args.get("unit") or None, request.args.get("period") or None)
    units = filters.viewable_units(current_user)
    pending = filters.run(
        current_user,
        "tasks",
        {"unit": board["unit"]["code"], "period": board["period"], "status": TASK_READY, "sort": "due", "limit": "10"},
    )
    return render_template(
        "dashboard/overview.html",
        board=board,
        charts=dashboard.chart_data(board, i18n.current()),
        units=units,
        pending=pending,
        LEVELS=LEVELS,
    )


def _list(kind: str):
    args = {k: v for k, v in request.args.items() if v != ""}
    error, page = None, None
    try:
        page = filters.run(current_user, kind, args)
    except ServiceError as exc:
        if exc.status == 403:
            raise
        error = exc
    params = page.query.params if page else {k: v for k, v in args.items() if k in filters.PARAMS}
    next_url = None
    if page and page.next_cursor:
        next_url = url_for(f"dashboard.{kind}_list") + "?" + urlencode(dict(params, cursor=page.next_cursor))
    counts = filters.level_counts(current_user, page.query) if page and kind == "evaluations" else None
    return render_template(
        "dashboard/list.html",
        kind=kind,
        title=_(LIST_TITLES[kind]),
        page=page,
        error=error,
        counts=counts,
        default_unit=filters.default_unit(current_user),
        params=params,
        units=filters.viewable_units(current_user),
        LEVELS=LEVELS,
        steps=steps.choices(),
        saved=filters.saved(current_user, kind),
        next_url=next_url,
        first_url=url_for(f"dashboard.{kind}_list") + ("?" + urlencode(params) if params else ""),
        sorts=filters.EVALUATION_SORTS if kind == "evaluations" else filters.TASK_SORTS,
        is_first=not request.args.get("cursor"),
    ), (error.status if error else 200)


@bp.route("/dashboard/evaluations")
@login_required
@reads_replica
def evaluations_list():
    return _list("evaluations")


@bp.route("/dashboard/tasks")
@login_required
@reads_replica
def tasks_list():
    return _list("tasks")


@bp.post("/dashboard/filters")
@login_required
def save_filter():
    kind = request.form.get("kind", "")
    if kind not in filters.KINDS:
        abort(400)
    params = {k: request.form.get(k) for k in filters.PARAMS if request.form.get(k)}
    try:
        filters.save_filter(current_user, kind, request.form.get("filter_name", ""), params)
    except ServiceError as exc:
        flash(i18n.message_of(exc), "error")
    else:
        flash(_("Đã lưu bộ lọc."), "success")
    return redirect(url_for(f"dashboard.{kind}_list") + ("?" + urlencode(params) if params else ""))


@bp.post("/dashboard/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id):
    kind = request.form.get("kind") if request.form.get("kind") in filters.KINDS else "evaluations"
    filters.delete_filter(current_user, filter_id)
    flash(_("Đã xóa bộ lọc."), "success")
    return redirect(url_for(f"dashboard.{kind}_list"))


def _xlsx(name: str, content: bytes) -> Response:
    return Response(
        content,
        mimetype=exports.XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.route("/dashboard/export/monthly.xlsx")
@login_required
@reads_replica
def export_monthly():
    name, content = exports.monthly_workbook(current_user, request.args.get("unit", ""), request.args.get("period", ""))
    return _xlsx(name, content)


@bp.route("/dashboard/export/rollup.xlsx")
@login_required
@reads_replica
def export_rollup():
    name, content = exports.rollup_workbook(current_user, request.args.get("unit", ""), request.args.get("range", ""))
    return _xlsx(name, content)


@bp.route("/instances/<int:instance_id>/sheet")
@login_required
def sheet(instance_id):
    data = instance_details.sheet(current_user, instances.get(instance_id))
    return render_template("dashboard/sheet.html", s=data)


# ------------------------------------------------------------------------------------ operations
INSTANCE_OPS = {
    "suspend": (lambda i, f: operations.suspend(current_user, i, f.get("reason")), N_("Đã tạm dừng hồ sơ.")),
    "resume": (lambda i, f: operations.resume(current_user, i, f.get("reason")), N_("Đã cho hồ sơ chạy tiếp.")),
    "terminate": (lambda i, f: operations.terminate(current_user, i, f.get("reason")), N_("Đã hủy hồ sơ.")),
    "retry": (lambda i, f: operations.retry(current_user, i), N_("Đã chạy lại hồ sơ thành công.")),
}
TASK_OPS = {
    "reassign": (
        lambda t, f: operations.reassign(current_user, t, f.get("assignee"), f.get("reason")),
        N_("Đã giao lại việc."),
    ),
    "extend": (
        lambda t, f: operations.extend_deadline(current_user, t, f.get("due_date"), f.get("reason")),
        N_("Đã gia hạn."),
    ),
    "remind": (lambda t, f: operations.resend(current_user, t), N_("Đã gửi lại thông báo nhắc việc.")),
}


def _flash_error(exc: ServiceError) -> None:
    message = i18n.message_of(exc)
    detail = "; ".join(i18n.message_of(d) for d in exc.details if isinstance(d, dict) and d.get("message"))
    flash(f"{message}{' — ' + detail if detail and detail not in message else ''}", "error")


@bp.post("/operations/instances/<int:instance_id>/<op>")
@login_required
def instance_operation(instance_id, op):
    if op not in INSTANCE_OPS:
        abort(404)
    run, done = INSTANCE_OPS[op]
    try:
        outcome = run(instance_id, request.form)
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        _flash_error(exc)
    else:
        flash(_(done), "success")
        if op == "resume" and outcome["overdue_steps"]:
            flash(
                _(
                    "Lưu ý: hạn của bước %(steps)s đã qua; bộ hẹn giờ sẽ xử lý ở lần chạy tới.",
                    steps=", ".join(outcome["overdue_steps"]),
                ),
                "error",
            )
    return redirect(url_for("monitor.instance_page", instance_id=instance_id) + "#operations")


@bp.post("/operations/tasks/<int:task_id>/<op>")
@login_required
def task_operation(task_id, op):
    if op not in TASK_OPS:
        abort(404)
    run, done = TASK_OPS[op]
    try:
        task = operations.get_task(task_id)
        instance_id = task.instance_id
        run(task_id, request.form)
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        if op in ("reassign", "extend") and any(isinstance(d, dict) and d.get("field") for d in exc.details):
            # the record page shows it next to the field, the form open with what was typed
            stash.keep(
                f"{op}-{task_id}",
                exc,
                {k: request.form.get(k, "") for k in ("assignee", "due_date", "reason")},
                instance_id=instance_id,
            )
            return redirect(url_for("monitor.instance_page", instance_id=instance_id) + f"#{op}-{task_id}")
        _flash_error(exc)
    else:
        flash(_(done), "success")
    return redirect(url_for("monitor.instance_page", instance_id=instance_id) + "#waiting")
