from datetime import datetime, timezone

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, update

from flask_babel import gettext as _

from app import forms, i18n
from app.extensions import db
from app.models import Notification
from app.services import decisions, tasks
from app.services.errors import Invalid

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
    view = tasks.view(task_id, current_user)
    data, errors, status = view.data, [], 200
    if request.method == "POST":
        data = forms.parse_submission(view.schema, request.form)
        try:
            tasks.complete(task_id, current_user, data)
        except Invalid as exc:
            errors = [forms.FieldError(d["field"], d["message"], d.get("message_en", "")) for d in exc.details]
            status = 422
            flash(i18n.message_of(exc), "error")
        else:
            flash(_("Đã hoàn thành: %(title)s — %(name)s.", title=tasks.step_title(view.task),
                    name=view.task.subject.full_name), "success")
            # the head scoring before a decision goes back to the batch it belongs to
            scored_for_decision = decisions.scored_for_decision(view.task)
            return redirect(url_for("monitor.decision_batch" if scored_for_decision else "tasks.inbox"))
    form_html = forms.render(view.schema, data, errors, view.context, lang=i18n.current())
    return render_template("tasks/task.html", view=view, form_html=form_html), status


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
        db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                      Notification.read_at.is_(None))
                           .values(read_at=datetime.now(timezone.utc)))
        db.session.commit()
        return redirect(url_for("tasks.notifications"))
    rows = db.session.scalars(select(Notification).where(Notification.user_id == current_user.id)
                              .order_by(Notification.id.desc()).limit(100)).all()
    return render_template("tasks/notifications.html", rows=rows)
