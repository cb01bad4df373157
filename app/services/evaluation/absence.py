"""Không đánh giá: the direct manager marks a month as not evaluated, with a reason. The
workflow ends there; the month is left out of quota counts and averages."""

from __future__ import annotations

from app.models import User

from app.services import unit_of_work
from . import instances
from app.services.organisation import authority
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.reporting.filters import has_control

OPEN_STATUSES = ("self_evaluation", "review")
MAX_REASON = 500


def may_mark(user: User, instance) -> bool:
    manager = authority.direct_manager_for(instance.subject, instance.unit)
    decider = authority.decider_for(instance.subject, instance.unit)
    allowed = {u.id for u in (manager, decider) if u is not None}
    acting_as = {user.id} | {p.id for p in authority.principals_of(user)}
    return user.id != instance.subject_id and bool(allowed & acting_as)


def mark_not_evaluated(instance_id: int, user: User, reason: str) -> None:
    instance = instances.get(instance_id)
    if not may_mark(user, instance):
        raise Forbidden(
            "Chỉ lãnh đạo trực tiếp hoặc thủ trưởng mới được đánh dấu không đánh giá.",
            "Only the direct manager or the head may mark a month as not evaluated.",
        )
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise Invalid(
            "Cần ghi rõ lý do không đánh giá.",
            "A reason is required.",
            [
                {
                    "field": "reason",
                    "message": "Ghi rõ lý do (ít nhất 5 ký tự).",
                    "message_en": "Give a reason (at least 5 characters).",
                }
            ],
        )
    # the reason goes to the record, the exports and the person's notice: plain text of a sensible length
    # (as an operation's reason); an escape character in it made the unit's Excel export a 500
    if len(reason) > MAX_REASON or has_control(reason):
        raise Invalid(
            f"Lý do không đánh giá tối đa {MAX_REASON} ký tự, không có ký tự điều khiển.",
            f"The reason has at most {MAX_REASON} characters and no control characters.",
            [
                {
                    "field": "reason",
                    "message": f"Tối đa {MAX_REASON} ký tự, không có ký tự điều khiển.",
                    "message_en": f"At most {MAX_REASON} characters, no control characters.",
                }
            ],
        )
    with unit_of_work.edit(instance_id, user, "not_evaluated") as change:
        instance = change.instance
        record = instances.record_of(instance)
        if record.status not in OPEN_STATUSES:
            raise Conflict(
                "Hồ sơ đã qua bước chấm điểm, không thể đánh dấu không đánh giá.",
                "The evaluation is past the review; it cannot be marked as not evaluated.",
            )
        change.workflow.cancel()
        change.save()
        instance.status, instance.step = "completed", "not_evaluated"
        record.status, record.not_evaluated_reason, record.total, record.level = "not_evaluated", reason, None, None
        change.audit("not_evaluated", details={"reason": reason})
