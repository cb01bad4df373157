"""Start, load and save evaluation instances; keep the projections (tasks, record) in step.

Every change to an instance goes: lock the row -> load the workflow -> run -> save(), and
save() is the one place that rewrites the snapshot, the human tasks and the record.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import select

from app.engine import persistence, specs
from app.engine import helpers
from app.engine.helpers import now_iso
from app.engine.runtime import Workflow
from app.extensions import db
from app.models import EvaluationRecord, HumanTask, ProcessInstance, ProcessVersion, Scheme, Unit, User
from app.rules.schemes import criteria_for
from app.rules.workdays import parse_period

from . import audit, authority, notifications, schemes
from .errors import Conflict, NotFound

STATUS_BY_STEP = {
    "self_evaluation": "self_evaluation",
    "review": "review",
    "review_by_decider": "review",
    "decision": "decision",
    "appeal_decision": "appeal",
}
STATUS_LABELS = {
    "self_evaluation": "Đang tự đánh giá",
    "review": "Đang chờ lãnh đạo chấm",
    "decision": "Chờ thủ trưởng quyết định",
    "published": "Đã công bố, trong thời hạn kiến nghị",
    "appeal": "Đang giải quyết kiến nghị",
    "locked": "Đã chốt",
    "error": "Lỗi quy trình",
    "terminated": "Đã hủy",
    "not_evaluated": "Không đánh giá",
}


def seed_data(subject: User, period: str, scheme: Scheme) -> dict:
    """What a new instance starts with; the scheme's criteria are copied, so later edits of the
    scheme never change this month."""
    year, month = parse_period(period)
    return {
        "period": period,
        "opened_at": now_iso(),
        "scheme": scheme.code,
        "scheme_version": scheme.version,
        "criteria": criteria_for(scheme.definition, subject.position_group),
        "criteria_groups": dict(scheme.definition["groups"]),
        "working_days": helpers.calendar().working_days_in_month(year, month),
        "subject": {"username": subject.username, "full_name": subject.full_name,
                    "position_group": subject.position_group},
    }


def start(version: ProcessVersion, subject: User, period: str, actor: User | None = None,
          unit: Unit | None = None) -> ProcessInstance:
    """Start `subject`'s month in `unit` (default: their unit; another one after a transfer)."""
    unit = unit or subject.unit
    loaded = specs.load(version)
    agency = authority.agency_of_unit(unit)
    scheme = schemes.for_unit(unit, period)
    workflow = Workflow.start(loaded, seed_data(subject, period, scheme))
    instance = ProcessInstance(version_id=version.id, subject_id=subject.id, unit_id=unit.id,
                               agency_id=agency.id if agency else unit.id, period=period,
                               snapshot="", serializer_version=persistence.SERIALIZER_VERSION)
    instance.subject, instance.unit = subject, unit
    db.session.add(instance)
    db.session.flush()
    db.session.add(EvaluationRecord(instance_id=instance.id, subject_id=subject.id, unit_id=instance.unit_id,
                                    agency_id=instance.agency_id, period=period, scheme=scheme.code,
                                    scheme_id=scheme.id))
    audit.record("instance_started", instance=instance, actor=actor,
                 details={"period": period, "version": version.version})
    save(instance, workflow)
    return instance


def get(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá #{instance_id}", f"Evaluation #{instance_id} not found")
    return instance


def lock(instance_id: int) -> ProcessInstance:
    """Take the instance row for writing: FOR UPDATE on PostgreSQL; the version column catches
    a concurrent writer on SQLite."""
    instance = db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.id == instance_id)
        .with_for_update().execution_options(populate_existing=True)).first()
    if instance is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá #{instance_id}", f"Evaluation #{instance_id} not found")
    if instance.status in ("terminated", "error"):
        raise Conflict(f"Hồ sơ đang ở trạng thái “{STATUS_LABELS[instance.status]}”, không thể thay đổi.",
                       f"The evaluation is {instance.status} and cannot change.")
    return instance


def load(instance: ProcessInstance) -> Workflow:
    return Workflow.load(specs.load(instance.version), instance.snapshot)


def diagram(instance: ProcessInstance) -> dict:
    """The BPMN of the instance's own version with its completed and active elements."""
    files = instance.version.files
    xml = next((text for name, text in sorted(files.items()) if name.endswith(".bpmn")), "")
    return {"xml": xml, **load(instance).element_states()}


def record_of(instance: ProcessInstance) -> EvaluationRecord:
    return db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.instance_id == instance.id)).one()


def save(instance: ProcessInstance, workflow: Workflow, actor: User | None = None) -> None:
    instance.snapshot = workflow.dump()
    instance.serializer_version = persistence.SERIALIZER_VERSION
    instance.next_timer_at = workflow.next_timer_at()
    steps = workflow.active_steps()
    instance.status = "completed" if workflow.is_completed() else "running"
    instance.step = ",".join(steps) if steps else ("locked" if workflow.is_completed() else "waiting")
    instance.error = None
    data = workflow.data()
    _sync_tasks(instance, workflow)
    _project_record(instance, data, steps, workflow.is_completed())
    _notify(instance, workflow.notifications)
    workflow.notifications.clear()
    db.session.flush()


def _parse_instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).astimezone(timezone.utc)
    except ValueError:
        return None


def _sync_tasks(instance: ProcessInstance, workflow: Workflow) -> None:
    open_rows = {ht.task_uuid: ht for ht in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "ready"))}
    ready = workflow.ready_tasks()
    ready_ids = {t.uuid for t in ready}
    now = datetime.now(timezone.utc)
    for uuid, row in open_rows.items():
        if uuid not in ready_ids:
            row.status, row.completed_at = "cancelled", now
            audit.record("task_closed", instance=instance, step=row.step,
                         details={"reason": "closed by the process (deadline, cancellation)",
                                  "assignee": row.assignee.username if row.assignee else None})
    subject = instance.subject
    for task in ready:
        if task.uuid in open_rows:
            continue
        assignee = authority.resolve(task.role, subject, instance.unit)
        row = HumanTask(instance_id=instance.id, task_uuid=task.uuid, step=task.step, title=task.title,
                        lane_role=task.role, form=task.form, assignee_id=assignee.id if assignee else None,
                        subject_id=subject.id, unit_id=instance.unit_id, agency_id=instance.agency_id,
                        period=instance.period, due_at=_parse_instant(task.data.get(f"{task.step}_due")))
        db.session.add(row)
        audit.record("task_assigned", instance=instance, step=task.step,
                     details={"assignee": assignee.username if assignee else None, "role": task.role})
        if assignee is not None:
            notifications.send(assignee.id, "assigned", f"Việc mới: {task.title} — {subject.full_name} "
                               f"({instance.period})", instance.id)


def _project_record(instance: ProcessInstance, data: dict, steps: list[str], completed: bool) -> None:
    record = record_of(instance)
    self_eval = data.get("self_evaluation") if isinstance(data.get("self_evaluation"), dict) else None
    review = data.get("review") if isinstance(data.get("review"), dict) else None
    result = data.get("result") if isinstance(data.get("result"), dict) else None
    amendment = data.get("appeal_decision") if isinstance(data.get("appeal_decision"), dict) else None
    record.self_total = self_eval.get("total") if self_eval else None
    record.self_evaluation_missed = bool(data.get("self_evaluation_missed"))
    record.review_total = data.get("total") if review and result else None
    record.proposed_level = (review or {}).get("proposed_level")
    if result:
        record.total, record.level = result.get("total"), result.get("level")
        record.rules_applied = result.get("rules_applied")
        amended = result.get("amended") and amendment
        record.scores = (amendment if amended else review or {}).get("scores")
    record.appealed = isinstance(data.get("appeal"), dict)
    record.published_at = _parse_instant(data.get("published_at"))
    record.appeal_due = _parse_instant(data.get("appeal_due"))
    record.locked_at = _parse_instant(data.get("locked_at")) if completed else None
    if completed:
        record.status = "locked"
    elif steps:
        record.status = next((STATUS_BY_STEP[s] for s in steps if s in STATUS_BY_STEP), steps[0])
    elif record.published_at:
        record.status = "published"


ACTION_LABELS = {
    "instance_started": "Mở hồ sơ đánh giá",
    "task_assigned": "Giao việc",
    "task_completed": "Hoàn thành",
    "task_closed": "Đóng việc (quá hạn / dừng)",
    "reminder_sent": "Nhắc việc",
    "escalated": "Chuyển thủ trưởng (quá hạn)",
    "published": "Công bố kết quả",
    "appeal_submitted": "Gửi kiến nghị",
    "timer_fired": "Đến hạn",
    "not_evaluated": "Không đánh giá",
    "engine_error": "Lỗi quy trình",
}

NOTIFY_TEXT = {
    "published": "Kết quả đánh giá tháng {period} đã được công bố: {total} điểm, loại {level}. "
                 "Anh/chị có thể kiến nghị đến hết {appeal_due}.",
    "appeal_answered": "Kiến nghị về kết quả tháng {period} đã được giải quyết: {total} điểm, loại {level}.",
    "returned": "Lãnh đạo trả lại bản tự đánh giá tháng {period} để bổ sung.",
}


def _notify(instance: ProcessInstance, requests: list[dict]) -> None:
    """Turn the scripts' notify() calls into in-app notifications for the right people."""
    if not requests:
        return
    record = record_of(instance)
    for request in requests:
        kind, step = request.get("kind"), request.get("step")
        if kind == "reminder":
            rows = db.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance.id, HumanTask.status == "ready", HumanTask.step == step)).all()
            for row in rows:
                due = _local_date(row.due_at)
                notifications.send(row.assignee_id, "reminder", f"Nhắc việc: {row.title} — hạn {due}", instance.id)
            audit.record("reminder_sent", instance=instance, step=step)
        elif kind in NOTIFY_TEXT:
            text = NOTIFY_TEXT[kind].format(period=instance.period, total=_fmt(record.total), level=record.level,
                                            appeal_due=_local_date(record.appeal_due))
            notifications.send(instance.subject_id, kind, text, instance.id)
            if kind == "published":
                audit.record("published", instance=instance, details={"total": record.total, "level": record.level})
        elif kind == "escalation":
            audit.record("escalated", instance=instance, step=step)


def _local_date(dt: datetime | None) -> str:
    if dt is None:
        return ""
    from zoneinfo import ZoneInfo
    return dt.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%d/%m/%Y")


def _fmt(value) -> str:
    if value is None:
        return "—"
    return f"{value:g}".replace(".", ",")
