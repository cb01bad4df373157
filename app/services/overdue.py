"""Overdue tasks: decisions and appeal decisions are never taken automatically (DOMAIN.md §5),
so when any task passes its due time its holder and the agency's HR officers are told, once."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import HumanTask, Unit, User

from . import audit, notifications


def hr_officers(agency_id: int) -> list[User]:
    agency = db.session.get(Unit, agency_id)
    ids = agency.subtree_ids() if agency else []
    return [u for u in db.session.scalars(select(User).where(User.unit_id.in_(ids), User.active.is_(True)))
            if u.has_role("hr_officer")]


def sweep(now: datetime | None = None, limit: int = 5000) -> int:
    now = now or datetime.now(timezone.utc)
    query = (select(HumanTask).options(joinedload(HumanTask.subject), joinedload(HumanTask.assignee))
             .where(HumanTask.status == "ready", HumanTask.due_at <= now, HumanTask.overdue_notified_at.is_(None))
             .order_by(HumanTask.due_at).limit(limit))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=HumanTask)
    rows = db.session.scalars(query).unique().all()
    officers: dict[int, list[User]] = {}
    for task in rows:
        holder = task.assignee.full_name if task.assignee else "chưa có người xử lý"
        text = f"Quá hạn: {task.title} — {task.subject.full_name} ({task.period}), người xử lý: {holder}"
        notifications.send(task.assignee_id, "overdue", text, task.instance_id)
        if task.agency_id not in officers:
            officers[task.agency_id] = hr_officers(task.agency_id)
        for officer in officers[task.agency_id]:
            if officer.id != task.assignee_id:
                notifications.send(officer.id, "overdue", text, task.instance_id)
        task.overdue_notified_at = now
        audit.record("overdue", step=task.step, details={"task": task.id, "assignee": task.assignee.username
                                                         if task.assignee else None},
                     instance=task.instance)
    db.session.commit()
    return len(rows)
