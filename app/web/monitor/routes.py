"""HR and managers: open a month, follow instances, decide in batch, appeal, monthly report."""

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from flask_babel import gettext as _

from app import forms, i18n, localtime
from app.services import transaction
from app.services.evaluation import absence, appeals, cycles, decisions, instance_details, instances, record_page
from app.services.organisation import access
from app.rules import workdays
from app.services.errors import BadRequest, Invalid, ServiceError
from .. import stash

from ..form_ids import form_ids

bp = Blueprint("monitor", __name__)


def previous_period() -> str:
    return workdays.previous_period(localtime.today())


@bp.route("/months/open", methods=["GET", "POST"])
@login_required
def open_month():
    """Post/redirect/get: a submitted opening (the page without JavaScript) answers with a redirect to
    this page, carrying the outcome or the refusal with what was typed, so reloading never posts again
    and the address bar never holds a POST."""
    scope = (
        access.visible_unit_ids(current_user)
        if current_user.has_role("hr_officer") or access.is_admin(current_user)
        else set()
    )
    if scope is not None and not scope:
        abort(403)
    units = access.units_in(scope)
    if request.method == "POST":
        values = {
            "unit": request.form.get("unit", ""),
            "period": request.form.get("period", ""),
            "include_subunits": request.form.get("include_subunits") == "on",
        }
        outcome: dict = {"values": values}
        try:
            result = cycles.open_month(values["unit"], values["period"], values["include_subunits"], current_user)
        except ServiceError as exc:
            transaction.mark_failed()  # nothing of a refused opening is kept
            outcome["error"] = exc.to_json()
        else:
            outcome["result"] = {"started": result["started"], "skipped": result["skipped"]}
        session["open_month"] = outcome
        return redirect(url_for("monitor.open_month"))
    outcome = session.pop("open_month", None) or {}
    values = outcome.get("values") or {
        "unit": units[0].code if units else "",
        "period": previous_period(),
        "include_subunits": True,
    }
    error = outcome.get("error")
    errors = {d.get("field"): d for d in (error or {}).get("details", []) if isinstance(d, dict) and d.get("field")}
    return render_template(
        "monitor/open_month.html",
        units=sorted(units, key=lambda u: u.code),
        values=values,
        result=outcome.get("result"),
        error=error,
        field_errors=errors,
        chunk=cycles.CHUNK,
    )


@bp.post("/months/open/step")
@login_required
def open_month_step():
    """One chunk of an opening, for the page's progress bar (static/open_month.js drives the loop).

    The page sends where the previous chunk ended (`after`) and its running totals; each call starts
    the missing people among the next cycles.CHUNK in scope and commits, so a closed tab or a lost
    connection leaves whole chunks behind and opening again resumes (already started people are
    counted as skipped). The totals the page carries only feed the closing audit summary; every
    instance has its own `instance_started` event with the actor."""
    data = request.get_json(silent=True)
    try:
        if not isinstance(data, dict):
            raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", "The request body must be a JSON object.")
        opening = cycles.plan(data.get("unit"), data.get("period"), bool(data.get("include_subunits")), current_user)
        progress = cycles.resume(opening, data)
        cycles.open_chunk(opening, progress)
        if progress.finished:
            cycles.record_opened(opening, progress)
    except ServiceError as exc:
        return jsonify(exc.to_json()), exc.status
    return jsonify(progress.as_dict())


@bp.route("/instances")
@login_required
def instance_list():
    """The old list of a month's evaluations: now the one list with its filters and exports."""
    period = request.args.get("period") or previous_period()
    try:
        cycles.check_period(period)
    except ServiceError:
        period = previous_period()
    return redirect(url_for("dashboard.evaluations_list", period=period))


@bp.route("/instances/<int:instance_id>")
@login_required
def instance_page(instance_id):
    instance = instances.get(instance_id)
    access.require_view(current_user, instance)
    record = instances.record_of(instance)
    events = instance_details.events(instance)
    open_tasks = instance_details.ready_tasks(instance)
    can_appeal = instance.subject_id == current_user.id and appeals.is_open(instance)
    can_mark = record.status in absence.OPEN_STATUSES and absence.may_mark(current_user, instance)
    # a refused appeal comes back here (post/redirect/get) with what was typed and the errors
    typed = session.pop("appeal_form", None)
    typed = typed if isinstance(typed, dict) and typed.get("instance_id") == instance.id else {}
    errors = [
        forms.FieldError(d["field"], d["message"], d.get("message_en", ""))
        for d in typed.get("errors", [])
        if isinstance(d, dict) and d.get("field") is not None
    ]
    appeal_html = (
        forms.render(appeals.appeal_schema(instance), typed.get("data") or {}, errors, {}, lang=i18n.current())
        if can_appeal
        else None
    )
    refused = stash.take(instance_id=instance.id)  # a refused form of this page, typed values kept
    g.discussion_form = refused
    return render_template(
        "monitor/instance.html",
        instance=instance,
        record=record,
        events=events,
        open_tasks=open_tasks,
        can_appeal=can_appeal,
        appeal_html=appeal_html,
        can_mark=can_mark,
        monitor=instance_details.extras(current_user, instance),
        refused=refused,
        page=record_page.extras(instance, record),
        discussion=discussion.panel(current_user, instance),
    )


@bp.route("/instances/<int:instance_id>/diagram.json")
@login_required
def instance_diagram(instance_id):
    instance = instances.get(instance_id)
    access.require_view(current_user, instance)
    return jsonify(instance_details.diagram(instance))


@bp.route("/instances/<int:instance_id>/not-evaluated", methods=["POST"])
@login_required
def not_evaluated(instance_id):
    try:
        absence.mark_not_evaluated(instance_id, current_user, request.form.get("reason", ""))
    except Invalid as exc:
        stash.keep("not-evaluated", exc, {"reason": request.form.get("reason", "")}, instance_id=instance_id)
        return redirect(url_for("monitor.instance_page", instance_id=instance_id, _anchor="not-evaluated"))
    else:
        flash(_("Đã đánh dấu tháng này không đánh giá."), "success")
    return redirect(url_for("monitor.instance_page", instance_id=instance_id))


@bp.route("/instances/<int:instance_id>/appeal", methods=["POST"])
@login_required
def appeal(instance_id):
    instance = instances.get(instance_id)
    schema = appeals.appeal_schema(instance)
    data = forms.parse_submission(schema, request.form)
    try:
        appeals.submit(instance_id, current_user, data)
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        access.require_view(current_user, instance)
        transaction.mark_failed()
        flash(i18n.message_of(exc), "error")
        if isinstance(exc, Invalid):
            session["appeal_form"] = {
                "instance_id": instance_id,
                "data": data,
                "errors": [
                    {k: d.get(k) for k in ("field", "message", "message_en")}
                    for d in exc.details
                    if isinstance(d, dict)
                ],
            }
        return redirect(url_for("monitor.instance_page", instance_id=instance_id) + "#appeal")
    flash(_("Đã gửi kiến nghị. Thủ trưởng sẽ giải quyết trong 5 ngày làm việc."), "success")
    return redirect(url_for("monitor.instance_page", instance_id=instance_id))


def _capacity(text: str | None) -> dict:
    """A leader's capacity to organise the work as the head typed it (percent; "" keeps 100)."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return {}
    try:
        return {"capacity": float(text)}
    except ValueError:
        return {"capacity": -1.0}  # refused next to the row by the batch


@bp.route("/decisions", methods=["GET", "POST"])
@login_required
def decision_batch():
    period = request.values.get("period") or None
    error = None
    if request.method == "POST":
        ids = form_ids("instance_id")
        items = [
            {
                "instance_id": i,
                "level": request.form.get(f"level_{i}") or None,
                "reason": request.form.get(f"reason_{i}") or None,
                "objective_cause_confirmed": bool(request.form.get(f"objective_cause_{i}")),
                **_capacity(request.form.get(f"capacity_{i}")),
            }
            for i in ids
        ]
        try:
            outcome = decisions.decide(
                current_user,
                request.form.get("unit", ""),
                request.form.get("period", ""),
                items,
                request.form.get("exceptional_reason"),
            )
        except ServiceError as exc:
            error = exc
        else:
            flash(_("Đã quyết định xếp loại %(n)s hồ sơ và công bố kết quả.", n=len(outcome["decided"])), "success")
            return redirect(url_for("monitor.decision_batch"))
    pending = decisions.pending(current_user, period)
    groups: dict = {}
    for task in pending:
        groups.setdefault((task.agency_id, task.period), []).append(task)
    batches = []
    for (agency_id, per), rows in groups.items():
        agency = access.unit(agency_id)
        recs = {t.instance_id: instances.record_of(t.instance) for t in rows}
        quota = decisions.live_quota(agency_id, per, {i: r.level for i, r in recs.items()})
        batches.append(
            {
                "agency": agency,
                "period": per,
                "tasks": rows,
                "records": recs,
                "quota": quota,
                "choices": {i: decisions.choices(r) for i, r in recs.items()},
            }
        )
    scoring = [(t, instances.record_of(t.instance)) for t in decisions.to_score(current_user, period)]
    # a refused batch comes back as the head left it: the ticks, levels and reasons they chose
    submitted = request.form if error is not None else None
    return render_template(
        "monitor/decisions.html", batches=batches, scoring=scoring, error=error, submitted=submitted
    ), (error.status if error else 200)


@bp.route("/reports/monthly")
@login_required
def monthly_report():
    """The old monthly report of a unit: the one list, filtered to the unit and month, exports the same
    workbook; a bad period is said next to its field there."""
    return redirect(
        url_for(
            "dashboard.evaluations_list",
            unit=request.args.get("unit") or None,
            period=request.args.get("period") or previous_period(),
        )
    )


@bp.route("/reports/rollup")
@login_required
def rollup_report():
    """Quarter / year roll-up (tổng hợp) of a unit, scoped like the monthly report."""
    from app.services.reporting import rollup

    scope = access.visible_unit_ids(current_user)
    units = access.units_in(scope)
    if not units:
        abort(403)
    last = previous_period()
    values = {
        "unit": request.args.get("unit") or sorted(units, key=lambda u: u.id)[0].code,
        "range": request.args.get("range") or f"{last[:4]}-Q{(int(last[5:]) - 1) // 3 + 1}",
    }
    try:
        report, error = rollup.compute(values["unit"], values["range"], scope), None
    except ServiceError as exc:
        report, error = None, exc
    return render_template(
        "monitor/rollup.html", report=report, error=error, values=values, units=sorted(units, key=lambda u: u.code)
    ), (error.status if error else 200)


from . import discussion
