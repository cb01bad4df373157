"""Kiến nghị: the subject appeals inside the window; the decider answers through the task."""

from __future__ import annotations

from datetime import datetime, timezone

from app import forms
from app.models import User

from app.services import unit_of_work
from . import instances
from app.services.errors import Forbidden, Invalid, field_details

APPEAL_FORM = "appeal.json"
CLOSED_VI = "Đã hết thời hạn kiến nghị hoặc kết quả chưa được công bố."
CLOSED_EN = "The appeal window is not open."


def appeal_schema(instance) -> dict:
    return forms.expand(forms.load_form(instance.version.files, APPEAL_FORM), {})


def is_open(instance) -> bool:
    return (
        instance.status == "running"
        and instance.step == "waiting"
        and instances.record_of(instance).published_at is not None
    )


def submit(instance_id: int, user: User, data: dict) -> None:
    instance = instances.get(instance_id)
    if instance.subject_id != user.id:
        raise Forbidden("Chỉ người được đánh giá mới được kiến nghị.", "Only the evaluated person may appeal.")
    schema = appeal_schema(instance)
    clean = forms.strip_readonly(schema, data if isinstance(data, dict) else {})
    errors = forms.validate(schema, clean)
    if errors:
        raise Invalid("Nội dung kiến nghị chưa hợp lệ.", "The appeal is not valid.", field_details(errors))
    with unit_of_work.edit(instance_id, user, "appeal_submitted", not_waiting=(CLOSED_VI, CLOSED_EN)) as change:
        payload = dict(clean, by=user.username, at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        change.workflow.send_message("appeal", payload)
        change.audit("appeal_submitted", details={"reason": clean.get("reason")})
        change.save()
