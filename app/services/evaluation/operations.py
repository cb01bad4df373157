"""Operations for HR officers and administrators (issue #5): reassign a task, extend a deadline,
suspend / resume / terminate an instance, retry an instance stuck in an engine error, resend a
notification.

Each one: checks who may do it (access.require_operate: the instance's agency HR or an
administrator, never on their own evaluation), needs a reason, refuses what is unsafe with a
message that says why, changes the instance in one unit of work (services.unit_of_work: the row
lock, one answer per kind of failure), appends one audit event with before/after; the caller's
transaction commits it — or nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from app import localtime
from app.engine import helpers
from app.engine.runtime import EngineError
from app.extensions import db
from app.labels import STATUS_LABELS
from app.models import AuditEvent, HumanTask, ProcessInstance, User
from app.models.workflow import TASK_READY

from app.services import audit, unit_of_work
from . import instances
from app.services.messaging import notifications
from app.services.organisation import access
from app.services.reporting.filters import has_control
from app.services.errors import Conflict, Invalid, NotFound, ServiceError

# Lanes whose holder is fixed by authority (thẩm quyền): the decision moves only by delegation
# (ủy quyền) or an acting appointment, both of which keep the "on behalf of" trail.
AUTHORITY_LANES = ("decider", "superior_decider")
MAX_EXTENSION_DAYS = 60
RESEND_INTERVAL = timedelta(minutes=10)
CHANGED_VI = "Hồ sơ vừa được người khác thay đổi, hãy tải lại trang và thử lại."
CHANGED_EN = "The evaluation changed meanwhile; reload and retry."


def _reason(reason) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if has_control(text):
        raise Invalid(
            "Lý do chứa ký tự không hợp lệ.",
            "The reason contains a control character.",
            [{"field": "reason", "message": "Bỏ ký tự điều khiển.", "message_en": "Remove control characters."}],
        )
    if len(text) < 5:
        raise Invalid(
            "Cần ghi rõ lý do (ít nhất 5 ký tự).",
            "A reason is required (at least 5 characters).",
            [
                {
                    "field": "reason",
                    "message": "Ghi rõ lý do (ít nhất 5 ký tự).",
                    "message_en": "Give a reason (at least 5 characters).",
                }
            ],
        )
    if len(text) > 500:
        raise Invalid(
            "Lý do quá dài (tối đa 500 ký tự).",
            "The reason is too long (max 500).",
            [{"field": "reason", "message": "Tối đa 500 ký tự.", "message_en": "At most 500 characters."}],
        )
    return text


def get_task(task_id) -> HumanTask:
    task = db.session.get(HumanTask, task_id) if isinstance(task_id, int) else None
    if task is None:
        raise NotFound(f"Không tìm thấy việc #{task_id}", f"Task #{task_id} not found")
    return task


def _ready(task: HumanTask) -> None:
    if task.status != TASK_READY:
        raise Conflict(
            "Việc này đã xong hoặc đã đóng; chỉ thao tác được trên việc đang chờ.",
            "The task is no longer waiting; only waiting tasks can be changed.",
        )


def _user(username) -> User:
    valid = isinstance(username, str) and username.strip() and len(username) <= 64 and not has_control(username)
    user = db.session.scalars(select(User).where(User.username == username.strip())).first() if valid else None
    if user is None:
        raise Invalid(
            "Không tìm thấy người nhận việc.",
            "No such person.",
            [{"field": "assignee", "message": "Không tìm thấy tên đăng nhập này.", "message_en": "Unknown username."}],
        )
    return user


# ------------------------------------------------------------------------------------ task level
def _assignee_refused(vi: tuple[str, str], en: tuple[str, str]) -> Invalid:
    """A refused new assignee: the whole message, and the short one next to the `assignee` field."""
    return Invalid(vi[0], en[0], [{"field": "assignee", "message": vi[1], "message_en": en[1]}])


def reassign(actor: User, task_id: int, username: str, reason: str) -> HumanTask:
    task = get_task(task_id)
    instance = task.instance
    access.require_operate(actor, instance)
    reason = _reason(reason)
    _ready(task)
    new = _user(username)
    if task.lane_role == "subject":
        raise Invalid(
            "Việc tự đánh giá chỉ do chính người được đánh giá thực hiện, không giao cho người khác.",
            "A self-evaluation belongs to the evaluated person and cannot be reassigned.",
        )
    if task.lane_role in AUTHORITY_LANES:
        raise Invalid(
            "Thẩm quyền quyết định, giải quyết kiến nghị không chuyển bằng giao lại việc: hãy dùng ủy quyền "
            "(thay mặt) hoặc bổ nhiệm quyền thủ trưởng, để hồ sơ ghi rõ người có thẩm quyền.",
            "Deciding authority is not moved by reassignment: use a delegation or an acting "
            "appointment, so the record names who held the authority.",
        )
    if new.id == task.subject_id:
        raise _assignee_refused(
            ("Không ai được tự chấm hoặc tự quyết định kết quả của chính mình.", "Đây là người được đánh giá."),
            ("Nobody may review or decide their own evaluation.", "This is the evaluated person."),
        )
    if new.id == actor.id:
        # the one who moves a review must not be the one who then scores it: an HR officer (or an
        # administrator) outside the chain made themselves the reviewer of anyone in the agency
        raise _assignee_refused(
            ("Không tự giao việc cho chính mình: hãy giao cho người khác trong cơ quan.", "Không giao cho chính mình."),
            ("You may not reassign a task to yourself: choose someone else in the agency.", "Not to yourself."),
        )
    if not new.active:
        raise Invalid(
            "Tài khoản này đã ngừng hoạt động.",
            "This account is inactive.",
            [{"field": "assignee", "message": "Tài khoản ngừng hoạt động.", "message_en": "Inactive."}],
        )
    if new.id == task.assignee_id:
        raise Invalid(
            "Việc đã giao cho người này.",
            "The task is already assigned to this person.",
            [{"field": "assignee", "message": "Trùng người đang xử lý.", "message_en": "Same person."}],
        )
    scope = access.visible_unit_ids(actor)
    if scope is not None and new.unit_id not in scope:
        raise Invalid(
            "Chỉ giao lại cho người trong cơ quan mình quản lý.",
            "Reassign only to someone in the agency you look after.",
            [{"field": "assignee", "message": "Ngoài phạm vi cơ quan.", "message_en": "Outside your agency."}],
        )

    with unit_of_work.edit(task.instance_id, actor, "task_reassigned", allow=("suspended",)) as change:
        locked = change.instance
        db.session.refresh(task)
        _ready(task)
        before = task.assignee
        task.assignee_id = new.id
        task.overdue_notified_at = None
        audit.record(
            "task_reassigned",
            instance=locked,
            actor=actor,
            step=task.step,
            details={
                "task": task.id,
                "before": before.username if before else None,
                "after": new.username,
                "assignee": new.username,
                "reason": reason,
            },
        )
        subject = locked.subject
        title_en = instances.title_en(task.title)
        notifications.send(
            new.id,
            "assigned",
            f"Việc được giao lại cho anh/chị: {task.title} — {subject.full_name} ({locked.period}). Lý do: {reason}",
            locked.id,
            f"Task reassigned to you: {title_en} — {subject.full_name} ({locked.period}). Reason: {reason}",
        )
        if before is not None:
            notifications.send(
                before.id,
                "reassigned",
                f"Việc {task.title} — {subject.full_name} ({locked.period}) đã được giao cho {new.full_name}.",
                locked.id,
                f"Task {title_en} — {subject.full_name} ({locked.period}) was reassigned to {new.full_name}.",
            )
    return task


def extend_deadline(actor: User, task_id: int, new_date, reason: str, now: datetime | None = None) -> dict:
    """Move the due date of a waiting task to the end of `new_date` (a working day, local time).

    In the workflow: the `<step>_due` variable changes, and every waiting timer that reads it
    (the interrupting deadline, which cached its date when it started waiting, and the reminder)
    is re-evaluated; later steps' deadlines (`*_due` after the old one) move so that they keep
    their working days after the new one — otherwise extending the self-evaluation past the review
    deadline would close the review the moment it opens. In the projection: `due_at` changes and a
    new overdue notice may go out.
    """
    now = now or datetime.now(timezone.utc)
    task = get_task(task_id)
    instance = task.instance
    access.require_operate(actor, instance)
    reason = _reason(reason)
    _ready(task)
    day = _parse_day(new_date)
    cal = helpers.calendar()
    if not cal.is_working_day(day):
        raise Invalid(
            f"Ngày {day:%d/%m/%Y} không phải ngày làm việc.",
            f"{day} is not a working day.",
            [{"field": "due_date", "message": "Chọn một ngày làm việc.", "message_en": "Pick a working day."}],
        )
    new_due = cal.end_of_day(day)
    variable = f"{task.step}_due"

    with unit_of_work.edit(task.instance_id, actor, "deadline_extended", allow=("suspended",)) as change:
        locked = change.instance
        db.session.refresh(task)
        _ready(task)
        workflow = change.workflow
        ready = next((t for t in workflow.ready_tasks() if t.uuid == task.task_uuid), None)
        if ready is None:
            raise Conflict("Việc này không còn chờ trong quy trình.", "The task is no longer waiting in the process.")
        old_text = ready.data.get(variable)
        old_due = _instant(old_text)
        if old_due is None:
            raise Invalid(
                f"Bước “{task.title}” không có hạn trong quy trình (không có biến {variable}), "
                "nên không có gì để gia hạn.",
                f"The step has no deadline in the process (no {variable} variable).",
            )
        if new_due <= old_due:
            raise Invalid(
                f"Hạn mới phải sau hạn hiện tại ({_local(old_due)}); thao tác này chỉ lùi hạn.",
                "The new deadline must be after the current one; this operation only extends.",
                [
                    {
                        "field": "due_date",
                        "message": "Chọn ngày sau hạn hiện tại.",
                        "message_en": "Pick a day after the current deadline.",
                    }
                ],
            )
        if new_due <= now:
            raise Invalid(
                "Hạn mới đã qua.",
                "The new deadline is in the past.",
                [
                    {
                        "field": "due_date",
                        "message": "Chọn một ngày trong tương lai.",
                        "message_en": "Pick a future day.",
                    }
                ],
            )
        if new_due - old_due > timedelta(days=MAX_EXTENSION_DAYS):
            raise Invalid(
                f"Chỉ gia hạn tối đa {MAX_EXTENSION_DAYS} ngày mỗi lần.",
                f"Extend by at most {MAX_EXTENSION_DAYS} days at a time.",
                [
                    {
                        "field": "due_date",
                        "message": f"Tối đa {MAX_EXTENSION_DAYS} ngày.",
                        "message_en": f"At most {MAX_EXTENSION_DAYS} days.",
                    }
                ],
            )
        moves = {variable: new_due.isoformat()}
        for name, value in ready.data.items():
            later = _instant(value) if name.endswith("_due") and name != variable else None
            if later is not None and later > old_due:
                gap = _working_days_between(cal, old_due, later)
                pushed = cal.end_of_day(cal.nth_working_day(day + timedelta(days=1), max(gap, 1)))
                if pushed > later:
                    moves[name] = pushed.isoformat()
        previous = {k: ready.data.get(k) for k in moves}
        timers = workflow.move_deadlines(moves)
        before = task.due_at
        change.save()
        task.due_at, task.overdue_notified_at = new_due, None
        details = {
            "task": task.id,
            "before": old_text or (before.isoformat() if before else None),
            "after": new_due.isoformat(),
            "reason": reason,
            "variables": {k: [previous[k], v] for k, v in moves.items()},
            "timers": timers,
        }
        audit.record("deadline_extended", instance=locked, actor=actor, step=task.step, details=details)
        if task.assignee_id:
            notifications.send(
                task.assignee_id,
                "extended",
                f"Gia hạn: {task.title} — {locked.subject.full_name} ({locked.period}), hạn mới {_local(new_due)}.",
                locked.id,
                f"Deadline extended: {instances.title_en(task.title)} — {locked.subject.full_name} "
                f"({locked.period}), new deadline {_local(new_due)}.",
            )
    return details


def resend(actor: User, task_id: int, now: datetime | None = None) -> HumanTask:
    """Tell the holder of a waiting task again (in-app, and by e-mail when mail is on)."""
    now = now or datetime.now(timezone.utc)
    task = get_task(task_id)
    instance = task.instance
    access.require_operate(actor, instance)
    _ready(task)
    if instance.status != "running":
        raise Conflict(
            f"Hồ sơ đang ở trạng thái “{STATUS_LABELS.get(instance.status, instance.status)}”: "
            "không nhắc việc cho đến khi hồ sơ chạy lại.",
            f"The evaluation is {instance.status}: no reminders until it runs again.",
        )
    if task.assignee_id is None:
        raise Invalid("Việc chưa có người xử lý; hãy giao việc trước.", "Nobody holds this task; reassign it first.")
    recent = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == instance.id,
            AuditEvent.action == "notification_resent",
            AuditEvent.at > now - RESEND_INTERVAL,
        )
    ).all()
    last = next((e for e in reversed(recent) if (e.details or {}).get("task") == task.id), None)
    if last is not None:
        minutes = int(RESEND_INTERVAL.total_seconds() // 60)
        raise Conflict(
            f"Đã nhắc việc này lúc {_local(last.at, '%H:%M')}; chỉ nhắc lại sau {minutes} phút.",
            f"Already resent at {last.at:%H:%M} UTC; wait {minutes} minutes.",
        )

    with unit_of_work.edit(instance, actor, "notification_resent"):
        due = f", hạn {_local(task.due_at)}" if task.due_at else ""
        due_en = f", due {_local(task.due_at)}" if task.due_at else ""
        notifications.send(
            task.assignee_id,
            "reminder",
            f"Nhắc việc: {task.title} — {instance.subject.full_name} ({instance.period}){due}",
            instance.id,
            f"Reminder: {instances.title_en(task.title)} — {instance.subject.full_name} ({instance.period}){due_en}",
        )
        audit.record(
            "notification_resent",
            instance=instance,
            actor=actor,
            step=task.step,
            details={"task": task.id, "assignee": task.assignee.username},
        )
    return task


# -------------------------------------------------------------------------------- instance level
def suspend(actor: User, instance_id: int, reason: str) -> ProcessInstance:
    instance = instances.get(instance_id)
    access.require_operate(actor, instance)
    reason = _reason(reason)

    with unit_of_work.edit(instance_id, actor, "instance_suspended", allow=("error",)) as change:
        locked = change.instance
        if locked.status != "running":
            raise Conflict(
                _not_running(locked, "tạm dừng"), f"Only a running evaluation can be suspended ({locked.status})."
            )
        locked.status = "suspended"
        audit.record(
            "instance_suspended",
            instance=locked,
            actor=actor,
            details={"before": "running", "after": "suspended", "reason": reason},
        )
    return locked


def resume(actor: User, instance_id: int, reason: str, now: datetime | None = None) -> dict:
    """Back to running; deadlines that passed meanwhile fire at the worker's next run (the page says
    which, so HR can extend them first)."""
    now = now or datetime.now(timezone.utc)
    instance = instances.get(instance_id)
    access.require_operate(actor, instance)
    reason = _reason(reason)

    with unit_of_work.edit(instance_id, actor, "instance_resumed", allow=("suspended",)) as change:
        locked = change.instance
        if locked.status != "suspended":
            raise Conflict("Hồ sơ không ở trạng thái tạm dừng.", "The evaluation is not suspended.")
        locked.status = "running"
        passed = [
            t.step
            for t in db.session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == locked.id, HumanTask.status == TASK_READY, HumanTask.due_at < now
                )
            )
        ]
        audit.record(
            "instance_resumed",
            instance=locked,
            actor=actor,
            details={"before": "suspended", "after": "running", "reason": reason, "overdue_steps": passed},
        )
    return {"instance": locked, "overdue_steps": passed}


def terminate(actor: User, instance_id: int, reason: str) -> ProcessInstance:
    """End an evaluation that should not go on (opened by mistake, the person left). A published
    result is never terminated: it changes only through the appeal or an audited amendment."""
    instance = instances.get(instance_id)
    access.require_operate(actor, instance)
    reason = _reason(reason)
    record = instances.record_of(instance)
    if record.published_at is not None or instance.status == "completed":
        raise Conflict(
            "Kết quả đã công bố hoặc đã chốt: không hủy được, chỉ thay đổi qua kiến nghị hoặc điều chỉnh có ghi vết.",
            "The result is published or locked: it cannot be terminated, only appealed or amended.",
        )
    if instance.status == "terminated":
        raise Conflict("Hồ sơ đã bị hủy trước đó.", "The evaluation is already terminated.")

    with unit_of_work.edit(instance_id, actor, "instance_terminated", allow=("suspended", "error")) as change:
        locked = change.instance
        before = locked.status
        change.workflow.cancel()
        change.save()
        locked.status, locked.step, locked.next_timer_at = "terminated", "terminated", None
        rec = instances.record_of(locked)
        rec.status = "terminated"
        audit.record(
            "instance_terminated",
            instance=locked,
            actor=actor,
            details={"before": before, "after": "terminated", "reason": reason},
        )
        notifications.send(
            locked.subject_id,
            "terminated",
            f"Hồ sơ đánh giá tháng {locked.period} đã bị hủy. Lý do: {reason}",
            locked.id,
            f"Your evaluation for {locked.period} was cancelled. Reason: {reason}",
        )
    return locked


def retry(actor: User, instance_id: int, now: datetime | None = None) -> ProcessInstance:
    """Run an instance stopped by an engine error again from its last saved state (due timers
    and engine steps). If it fails again it stays in error with the new message, and the
    refusal names the BPMN element."""
    instance = instances.get(instance_id)
    access.require_operate(actor, instance)
    if instance.status != "error":
        raise Conflict("Chỉ chạy lại được hồ sơ đang lỗi quy trình.", "Only an evaluation in error can be retried.")
    before_error = instance.error

    def failed_again(iid: int, exc: EngineError) -> ServiceError:
        unit_of_work.record_engine_error("retry_failed", actor)(iid, exc)
        return Conflict(
            f"Chạy lại không thành công: quy trình vẫn lỗi tại bước {exc.element or '?'}: {exc}",
            f"Retry failed: the process still fails at {exc.element or '?'}: {exc}",
            [{"field": "element", "element": exc.element, "message": str(exc), "message_en": str(exc)}],
        )

    with unit_of_work.edit(
        instance_id, actor, "instance_retried", allow=("error",), on_engine_error=failed_again
    ) as change:
        locked = change.instance
        if locked.status != "error":
            raise Conflict("Hồ sơ không còn ở trạng thái lỗi.", "The evaluation is no longer in error.")
        change.workflow.run_timers(now)
        change.save()
        change.audit("instance_retried", details={"before": "error", "after": locked.status, "error": before_error})
    return locked


# -------------------------------------------------------------------------------------- helpers
def _not_running(instance: ProcessInstance, verb: str) -> str:
    label = STATUS_LABELS.get(instance.status, "Đã hoàn tất" if instance.status == "completed" else instance.status)
    return f"Hồ sơ đang ở trạng thái “{label}”: chỉ {verb} được hồ sơ đang chạy."


def _parse_day(value) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(
        "Ngày phải có dạng YYYY-MM-DD.",
        "The date must be YYYY-MM-DD.",
        [{"field": "due_date", "message": "Ngày dạng YYYY-MM-DD.", "message_en": "A YYYY-MM-DD date."}],
    )


def _instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt.astimezone(timezone.utc) if dt.tzinfo else None


def _working_days_between(cal, start: datetime, end: datetime) -> int:
    """Working days after `start`'s day up to and including `end`'s day (local dates)."""
    tz = _tz()
    d, last, n = start.astimezone(tz).date(), end.astimezone(tz).date(), 0
    while d < last:
        d += timedelta(days=1)
        n += cal.is_working_day(d)
    return n


def _tz():
    return localtime.zone()


def _local(dt: datetime | None, fmt: str = "%d/%m/%Y") -> str:
    return localtime.format(dt, fmt)
