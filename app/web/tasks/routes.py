from datetime import datetime, timezone

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from flask_babel import gettext as _

from app import forms, i18n
from app.services import decisions, tasks
from app.services import notifications as notification_service

bp = Blueprint("tasks", __name__)


@bp.app_context_processor
def step_helpers():
    return {"step_label": tasks.step_label, "step_title": tasks.step_title}


@bp.route("/")
@login_required
def inbox():
    return render_template("tasks/inbox.html", tasks=tasks.inbox(current_user), now=datetime.now(timezone.utc))


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id):
    if request.method == "POST":
        # one unit of work: the submit loads the workflow once and shows the page from it on a refusal
        submitted = tasks.submit_page(task_id, current_user, request.form)
        view, data = submitted.view, submitted.data
        if submitted.error is None:
            flash(_("Đã hoàn thành: %(title)s — %(name)s.", title=tasks.step_title(view.task),
                    name=view.task.subject.full_name), "success")
            # the head scoring before a decision goes back to the batch it belongs to
            scored_for_decision = decisions.scored_for_decision(view.task)
            return redirect(url_for("monitor.decision_batch" if scored_for_decision else "tasks.inbox"))
        exc = submitted.error
        errors = [forms.FieldError(d["field"], d["message"], d.get("message_en", "")) for d in exc.details]
        flash(i18n.message_of(exc), "error")
        form_html = forms.render(view.schema, data, errors, view.context, lang=i18n.current())
        return render_template("tasks/task.html", view=view, form_html=form_html), 422
    view = tasks.view(task_id, current_user)
    form_html = forms.render(view.schema, view.data, [], view.context, lang=i18n.current())
    return render_template("tasks/task.html", view=view, form_html=form_html)


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
