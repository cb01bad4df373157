import json
from datetime import datetime, timezone

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from flask_babel import gettext as _

from app import forms, i18n
from app.services import transaction
from app.services.regulation import level_scale
from app.services.evaluation import decisions, evidence, filecheck, tasks, why
from app.services.evaluation import inbox as inbox_service
from app.services.messaging import notifications as notification_service
from app.services.errors import ServiceError

from .. import stash
from ..form_ids import form_ids

bp = Blueprint("tasks", __name__)


@bp.app_context_processor
def step_helpers():
    return {
        "step_label": tasks.step_label,
        "step_title": tasks.step_title,
        "why_lines": lambda result, proposed=None, instance_id=None: why.texts(
            why.explain(result, proposed_level=proposed, thresholds=level_scale.of_instance(instance_id))
        ),
        "record_why": lambda record, kinds=(): why.texts(
            [w for w in why.of_record(record) if not kinds or w.kind in kinds]
        ),
    }


@bp.route("/")
@login_required
def inbox():
    error = None
    try:
        filters = inbox_service.parse_filters(request.args)
    except ServiceError as exc:
        error, filters = exc, inbox_service.Filters()
    page = inbox_service.page(current_user, filters)
    return render_template(
        "tasks/inbox.html", page=page, tasks=[r.task for r in page.rows], error=error, now=datetime.now(timezone.utc)
    ), (error.status if error else 200)


@bp.post("/tasks/take-as-proposed")
@login_required
def take_as_proposed():
    """Several self-evaluations taken as proposed: each review its own unit of work and audit row, so
    one refused review (changed meanwhile, not allowed) leaves the others done and is named."""
    ids = form_ids("task_id", 200)
    if not ids:
        flash(_("Hãy chọn ít nhất một người."), "error")
    done, refused = [], []
    for task_id in ids:
        try:
            with transaction.committed():  # each review kept or refused on its own
                task = inbox_service.take_as_proposed(task_id, current_user)
                name = task.subject.full_name
        except ServiceError as exc:
            if exc.status == 403:
                raise
            refused.append((task_id, exc))
        else:
            done.append(name)
    if done:
        flash(
            _("Đã nhận nguyên kết quả tự đánh giá của %(n)s người: %(names)s.", n=len(done), names=", ".join(done)),
            "success",
        )
    for task_id, exc in refused:
        flash(_("Việc #%(id)s chưa xong: %(reason)s", id=task_id, reason=i18n.message_of(exc)), "error")
    return redirect(
        url_for("tasks.inbox", **{k: v for k, v in request.args.items() if k in ("step", "unit", "overdue", "q")})
    )


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id):
    if request.method == "POST":
        # one unit of work: the submit loads the workflow once and shows the page from it on a refusal
        submitted = tasks.submit_page(task_id, current_user, request.form)
        task, data = submitted.task, submitted.data
        if submitted.error is None:
            if data.get("return_for_revision") and inbox_service.was_returned(task):
                flash(
                    _(
                        "Đã trả lại hồ sơ của %(name)s để bổ sung; việc chấm điểm sẽ quay lại khi người này gửi lại.",
                        name=task.subject.full_name,
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Đã hoàn thành: %(title)s — %(name)s.",
                        title=tasks.step_title(task),
                        name=task.subject.full_name,
                    ),
                    "success",
                )
            # the head scoring before a decision goes back to the batch it belongs to
            scored_for_decision = decisions.scored_for_decision(task)
            return redirect(url_for("monitor.decision_batch" if scored_for_decision else "tasks.inbox"))
        exc, view = submitted.error, submitted.view
        errors = [forms.FieldError(d["field"], d["message"], d.get("message_en", "")) for d in exc.details]
        flash(i18n.message_of(exc), "error")
        form_html = forms.render(view.schema, data, errors, _with_evidence(view), lang=i18n.current())
        return render_template("tasks/task.html", view=view, form_html=form_html), 422
    view = tasks.view(task_id, current_user)
    data, errors = view.data, []
    refused = stash.take(task_id=task_id)  # a refused upload from this form: its errors and what was typed
    if refused:
        errors = [
            forms.FieldError(d["field"], d.get("message", ""), d.get("message_en", ""))
            for d in refused["error"].details
            if isinstance(d, dict) and d.get("field")
        ]
        typed = refused["values"].get("typed")
        if typed:
            data = tasks.typed_page_data(view, MultiDict(json.loads(typed)))
    form_html = forms.render(view.schema, data, errors, _with_evidence(view), lang=i18n.current())
    return render_template("tasks/task.html", view=view, form_html=form_html)


def _with_evidence(view) -> dict:
    """The form's context with what the evidence widget shows: the record's files (name and link) and,
    on the person's own items, where a photo or file is uploaded."""
    items = (view.schema.get("properties") or {}).get("items")
    if not isinstance(items, dict):
        return view.context
    context = dict(view.context)
    context["evidence_files"] = {
        str(e.id): {"name": e.name, "url": url_for("monitor.evidence_download", evidence_id=e.id)}
        for e in evidence.visible_list(current_user, view.task.instance_id)
    }
    if view.task.step == "self_evaluation" and view.task.assignee_id == current_user.id:
        context.update(
            evidence_upload_url=url_for("tasks.evidence_attach", task_id=view.task.id),
            evidence_accept=filecheck.ACCEPT,
            evidence_max_bytes=evidence.max_file_bytes(),
        )
    return context


@bp.post("/tasks/<int:task_id>/evidence")
@login_required
def evidence_attach(task_id):
    """A photo or file attached to one item from the task form: uploaded through the evidence service
    (its checks: who may, content sniffed, size, name, sha256), added to the item's evidence, and the
    form as typed kept as the task's draft; the page comes back with the file listed. A refusal is
    said next to the item's evidence field, nothing stored."""
    field = request.form.get("attach") or ""
    chosen = (request.files.get(field + "__photo"), request.files.get(field + "__file"))
    upload = next(((f.stream, f.filename) for f in chosen if f is not None and f.filename), None)
    index = tasks.evidence_row(field)
    anchor = f"f-items-{index}-evidence" if index is not None else None
    try:
        added = tasks.attach_evidence(task_id, current_user, request.form, field, upload)
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        # what was typed comes back with the error on the task's page (post/redirect/get)
        typed = json.dumps(request.form.to_dict(flat=False), ensure_ascii=False)
        stash.keep("task", exc, {"typed": typed}, task_id=task_id)
        flash(i18n.message_of(exc), "error")
        return redirect(url_for("tasks.task_page", task_id=task_id, _anchor=anchor))
    flash(_("Đã tải lên minh chứng “%(name)s”.", name=added.name), "success")
    return redirect(url_for("tasks.task_page", task_id=task_id, _anchor=anchor))


@bp.route("/tasks/<int:task_id>/draft", methods=["POST"])
@login_required
def save_draft(task_id):
    """Autosave from form.js: the form as typed so far, parsed but not validated."""
    view = tasks.view(task_id, current_user)
    saved_at = tasks.save_draft(task_id, current_user, forms.parse_submission(view.schema, request.form))
    return jsonify({"saved_at": saved_at.isoformat()})


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    if request.method == "POST":
        notification_service.mark_all_read(current_user)
        return redirect(url_for("tasks.notifications"))
    rows = notification_service.recent(current_user)
    return render_template("tasks/notifications.html", rows=rows)
