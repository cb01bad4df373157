"""Fire due timers. Several workers may run at once: each takes its instances with
FOR UPDATE SKIP LOCKED, so a timer fires once, and commits per instance, so a killed worker
leaves every instance either fired or untouched."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select

from app.engine.runtime import EngineError
from app.extensions import db
from app.models import ProcessInstance

from . import audit, instances

log = logging.getLogger(__name__)


def _claim_one(now: datetime, skip: set[int]) -> ProcessInstance | None:
    query = (select(ProcessInstance)
             .where(ProcessInstance.next_timer_at <= now, ProcessInstance.status == "running")
             .order_by(ProcessInstance.next_timer_at).limit(1))
    if skip:
        query = query.where(ProcessInstance.id.not_in(skip))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def run_due(now: datetime | None = None, limit: int = 10_000) -> int:
    now = now or datetime.now(timezone.utc)
    fired, seen = 0, set()
    while len(seen) < limit:
        instance = _claim_one(now, seen)
        if instance is None:
            break
        seen.add(instance.id)  # once per run, even if a timer stays due (e.g. not yet reachable)
        before = instance.step
        try:
            workflow = instances.load(instance)
            workflow.run_timers(now)
            instances.save(instance, workflow)
            audit.record("timer_fired", instance=instance, details={"before": before, "after": instance.step,
                                                                     "at": now.isoformat()})
            db.session.commit()
            fired += 1
        except EngineError as exc:
            db.session.rollback()
            log.exception("timer run failed for instance %s", instance.id)
            _mark_error(instance.id, exc)
    db.session.commit()
    return fired


def _mark_error(instance_id: int, exc: EngineError) -> None:
    instance = db.session.get(ProcessInstance, instance_id)
    instance.status, instance.error = "error", f"{exc.element or '?'}: {exc}"
    audit.record("engine_error", instance=instance, step=exc.element, details={"error": str(exc)})
    db.session.commit()
