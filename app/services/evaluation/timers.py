"""Fire due timers. Several workers may run at once: each takes its instances one at a time with
FOR UPDATE SKIP LOCKED, so a timer fires once, and commits per instance, so a killed worker
leaves every instance either fired or untouched. A user completing a task holds the same row lock
(instances.lock), so a completion and a timer on one instance never interleave: the worker skips the
instance while the completion runs and sees its new state on the next run; a completion that waited
for a timer's commit finds its task closed (409) or still ready, never a stale snapshot."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from sqlalchemy import literal, select, tuple_
from app.engine import helpers
from app.extensions import db
from app.models import ProcessInstance
from app.models.types import UTCDateTime

from app.services import transaction, unit_of_work
from app.services.errors import ServiceError

log = logging.getLogger(__name__)


def _claim_one(now: datetime, after: tuple[datetime, int] | None) -> ProcessInstance | None:
    """The next due instance after `after` (in (next_timer_at, id) order), locked for this worker.

    The keyset cursor, not a growing NOT IN list, keeps each claim one index probe however many
    instances fall due at once (a whole city's reminders come due the same minute)."""
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.next_timer_at <= now, ProcessInstance.status == "running")
        .order_by(ProcessInstance.next_timer_at, ProcessInstance.id)
        .limit(1)
    )
    if after is not None:
        query = query.where(
            tuple_(ProcessInstance.next_timer_at, ProcessInstance.id)
            > tuple_(literal(after[0], UTCDateTime), literal(after[1]))
        )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


def run_due(now: datetime | None = None, limit: int = 10_000) -> int:
    """Fire what is due, one instance per transaction (the sweep is its own outermost caller:
    each instance is claimed, run and committed, or rolled back, before the next is claimed)."""
    now = now or datetime.now(timezone.utc)
    fired, seen, cursor = 0, set(), None
    started = time.perf_counter()
    with helpers.pinned_calendar():  # read the calendar once per run, not per instance
        while len(seen) < limit:
            try:
                with transaction.committed():
                    instance = _claim_one(now, cursor)
                    if instance is None:
                        break
                    cursor = (instance.next_timer_at, instance.id)
                    if instance.id in seen:  # fired in this run already and due again: next run
                        transaction.mark_failed()
                        continue
                    seen.add(instance.id)
                    before = instance.step
                    with unit_of_work.edit(
                        instance, None, "timer_fired", on_engine_error=unit_of_work.record_engine_error()
                    ) as change:
                        change.workflow.run_timers(now)
                        change.save()
                        change.audit(
                            "timer_fired", details={"before": before, "after": instance.step, "at": now.isoformat()}
                        )
                    fired += 1
            except ServiceError:
                # Another writer changed the instance between our read and our write (SQLite has no
                # row locks; on PostgreSQL FOR UPDATE prevents this): theirs stands, the next run
                # looks at it again. An engine error is kept on the instance (status error).
                continue
    log.info("timer sweep: %s fired of %s due in %.0f ms", fired, len(seen), (time.perf_counter() - started) * 1000)
    return fired
