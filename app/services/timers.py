"""Fire due timers. Several workers may run at once: each takes its instances one at a time with
FOR UPDATE SKIP LOCKED, so a timer fires once, and commits per instance, so a killed worker
leaves every instance either fired or untouched. A user completing a task holds the same row lock
(instances.lock), so a completion and a timer on one instance never interleave: the worker skips the
instance while the completion runs and sees its new state on the next run; a completion that waited
for a timer's commit finds its task closed (409) or still ready, never a stale snapshot."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import literal, select, tuple_
from sqlalchemy.orm.exc import StaleDataError

from app.engine import helpers
from app.engine.runtime import EngineError
from app.extensions import db
from app.models import ProcessInstance
from app.models.types import UTCDateTime

from . import audit, instances

log = logging.getLogger(__name__)


def _claim_one(now: datetime, after: tuple[datetime, int] | None) -> ProcessInstance | None:
    """The next due instance after `after` (in (next_timer_at, id) order), locked for this worker.

    The keyset cursor, not a growing NOT IN list, keeps each claim one index probe however many
    instances fall due at once (a whole city's reminders come due the same minute)."""
    query = (select(ProcessInstance)
             .where(ProcessInstance.next_timer_at <= now, ProcessInstance.status == "running")
             .order_by(ProcessInstance.next_timer_at, ProcessInstance.id).limit(1))
    if after is not None:
        query = query.where(tuple_(ProcessInstance.next_timer_at, ProcessInstance.id)
                            > tuple_(literal(after[0], UTCDateTime), literal(after[1])))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def run_due(now: datetime | None = None, limit: int = 10_000) -> int:
    now = now or datetime.now(timezone.utc)
    fired, seen, cursor = 0, set(), None
    with helpers.pinned_calendar():          # read the calendar once per run, not per instance
        while len(seen) < limit:
            instance = _claim_one(now, cursor)
            if instance is None:
                break
            cursor = (instance.next_timer_at, instance.id)
            if instance.id in seen:          # fired in this run already and due again: next run
                db.session.rollback()
                continue
            seen.add(instance.id)
            iid, before = instance.id, instance.step
            try:
                workflow = instances.load(instance)
                workflow.run_timers(now)
                instances.save(instance, workflow)
                audit.record("timer_fired", instance=instance, details={"before": before, "after": instance.step,
                                                                         "at": now.isoformat()})
                db.session.commit()
                fired += 1
            except StaleDataError:
                # Another writer changed the instance between our read and our write (SQLite has no
                # row locks; on PostgreSQL FOR UPDATE prevents this): theirs stands, the next run
                # looks at the instance again with its new state.
                db.session.rollback()
                log.info("instance %s changed meanwhile; its timers wait for the next run", iid)
            except EngineError as exc:
                db.session.rollback()
                log.exception("timer run failed for instance %s", iid)
                _mark_error(iid, exc)
    db.session.commit()
    return fired


def _mark_error(instance_id: int, exc: EngineError) -> None:
    instance = db.session.get(ProcessInstance, instance_id)
    instance.status, instance.error = "error", f"{exc.element or '?'}: {exc}"
    audit.record("engine_error", instance=instance, step=exc.element, details={"error": str(exc)})
    db.session.commit()
