"""The engine's notion of "now".

SpiffWorkflow reads `datetime.now(timezone.utc)` inside its timer module. `timers run --now`
and the tests must be able to move time forward, so while `frozen_at(...)` is active the timer
module sees a datetime class whose now() returns the given instant. The swap is process-wide
but only held for one timer run, which the worker does serially.
"""

from __future__ import annotations

import contextlib
import threading
from contextvars import ContextVar
from collections.abc import Iterator
from datetime import datetime, timezone, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_override: ContextVar[datetime | None] = ContextVar("engine_now", default=None)
_swap_lock = threading.RLock()


def now() -> datetime:
    return _override.get() or datetime.now(timezone.utc)


class _ClockDatetime(datetime):  # the timer module's own `datetime` is the standard one
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]  # the instant, not a subclass
        frozen = _override.get()
        if frozen is None:
            return datetime.now(tz)
        return frozen.astimezone(tz) if tz else frozen.replace(tzinfo=None)


_timer_module.datetime = _ClockDatetime


@contextlib.contextmanager
def frozen_at(instant: datetime | None) -> Iterator[None]:
    if instant is None:
        yield
        return
    if instant.tzinfo is None:
        raise ValueError("the instant must carry a time-zone offset")
    with _swap_lock:
        token = _override.set(instant.astimezone(timezone.utc))
        try:
            yield
        finally:
            _override.reset(token)
