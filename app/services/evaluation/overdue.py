"""Overdue tasks: decisions and appeal decisions are never taken automatically (docs/domain.md, "Deadlines"),
so when any task passes its due time its holder and the agency's HR officers are told, once."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.i18n import translate_in
from app.models import HumanTask, Unit, User
from app.models.workflow import TASK_READY

from app.services import audit, transaction
from app.services.messaging import notifications


def hr_officers(agency_id: int) -> list[User]:
    agency = db.session.get(Unit, agency_id)
    ids = agency.subtree_ids() if agency else []
    return [
        u
        for u in db.session.scalars(
            select(User).where(User.unit_id.in_(ids), User.active.is_(True), User.roles.contains("hr_officer"))
        )
        if u.has_role("hr_officer")
    ]


def sweep(now: datetime | None = None, limit: int = 5000, chunk: int = 200) -> int:
    """Tell the holders of tasks that passed their due time, and the agency's HR officers, once.
    Several workers may sweep at once: each locks its rows with SKIP LOCKED and commits every
    `chunk` tasks, so row locks are held briefly (a user completing one of those tasks waits for
    at most one chunk) and a killed worker loses at most one uncommitted chunk, which the next
    sweep sends (nothing is sent twice: a task is marked in the same transaction as its notices)."""
    now = now or datetime.now(timezone.utc)
    done = 0
    officers: dict[int, list[User]] = {}
    while done < limit:
        with transaction.committed():  # one chunk, one transaction
            rows = _notify_chunk(now, min(chunk, limit - done), officers)
        done += len(rows)
        if len(rows) < chunk:
            break
    return done


def _notify_chunk(now: datetime, size: int, officers: dict[int, list[User]]) -> list[HumanTask]:
    """The next `size` overdue tasks not yet told, told (locked with SKIP LOCKED on PostgreSQL)."""
    query = (
        select(HumanTask)
        .options(joinedload(HumanTask.subject), joinedload(HumanTask.assignee))
        .where(HumanTask.status == TASK_READY, HumanTask.due_at <= now, HumanTask.overdue_notified_at.is_(None))
        .order_by(HumanTask.due_at, HumanTask.id)
        .limit(size)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=HumanTask)
    rows = db.session.scalars(query).unique().all()
    for task in rows:
        holder = task.assignee.full_name if task.assignee else "chưa có người xử lý"
        text = f"Quá hạn: {task.title} — {task.subject.full_name} ({task.period}), người xử lý: {holder}"
        holder_en = task.assignee.full_name if task.assignee else "nobody yet"
        text_en = (
            f"Overdue: {translate_in('en', task.title)} — {task.subject.full_name} ({task.period}), "
            f"held by: {holder_en}"
        )
        notifications.send(task.assignee_id, "overdue", text, task.instance_id, text_en)
        if task.agency_id not in officers:
            officers[task.agency_id] = hr_officers(task.agency_id)
        for officer in officers[task.agency_id]:
            if officer.id != task.assignee_id:
                notifications.send(officer.id, "overdue", text, task.instance_id, text_en)
        task.overdue_notified_at = now
        audit.record(
            "overdue",
            step=task.step,
            details={"task": task.id, "assignee": task.assignee.username if task.assignee else None},
            instance=_Ref(task.instance_id),
        )
    return rows


class _Ref:
    """An instance reference for audit.record without loading the instance (and its snapshot)."""

    def __init__(self, id: int):
        self.id = id
