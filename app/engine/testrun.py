"""Run a process version in memory, answering every user task, to see the path it takes.

Nothing is stored and nobody is notified: the workflow lives only in this call, `notify()` requests
are collected and returned, and the clock is frozen at a simulated instant that moves forward only
when the process waits for a timer (a deadline, the appeal window), so a month runs in milliseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from SpiffWorkflow.util.task import TaskState

from . import clock
from .runtime import EngineError, ReadyTask, RoleHolders, Workflow
from .specs import LoadedSpec

MAX_ACTIONS = 200
log = logging.getLogger(__name__)


@dataclass
class TestRun:
    path: list[dict[str, Any]] = field(default_factory=list)  # [{element, name, type, lane, at}] in order
    answers: list[dict[str, Any]] = field(default_factory=list)  # [{step, title, role, at, data, skipped}]
    notifications: list[dict[str, Any]] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    completed: bool = False
    error: dict[str, Any] | None = None
    stopped: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "answers": self.answers,
            "notifications": self.notifications,
            "active": self.active,
            "completed": self.completed,
            "error": self.error,
            "stopped": self.stopped,
            "data": self.data,
            "completed_elements": [p["element"] for p in self.path],
        }


def run(
    loaded: LoadedSpec,
    seed: Callable[[], dict[str, Any]],
    answer: Callable[[ReadyTask, datetime], dict[str, Any] | None],
    start_at: datetime,
    max_actions: int = MAX_ACTIONS,
    roles: RoleHolders | None = None,
    message: Callable[[list[str], bool], tuple[str, dict[str, Any]] | None] | None = None,
) -> TestRun:
    """`seed()` is called at `start_at` (it may read now_iso()); `answer(task, now)` returns the form
    data for a ready user task, or None to leave it (its deadline timer then fires). When nothing is
    ready and the process waits for messages, `message(names, timer_waiting)` may return one to
    deliver `(name, payload)`, or None to let the clock run to the next timer. `roles`: see
    runtime.Workflow (None: `same_holder()` is false)."""
    result = TestRun()
    seen: set[Any] = set()
    now = start_at
    workflow: Workflow | None = None

    def record() -> None:
        assert workflow is not None
        fresh = [
            t
            for t in workflow.wf.get_tasks(state=TaskState.COMPLETED)
            if t.id not in seen and getattr(t.task_spec, "bpmn_id", None)
        ]
        for task in sorted(fresh, key=lambda t: t.last_state_change):
            seen.add(task.id)
            spec = task.task_spec
            result.path.append(
                {
                    "element": spec.bpmn_id,
                    "name": getattr(spec, "bpmn_name", None) or spec.bpmn_id,
                    "type": getattr(spec, "description", ""),
                    "lane": spec.lane,
                    "at": now.isoformat(timespec="minutes"),
                }
            )
        seen.update(t.id for t in workflow.wf.get_tasks(state=TaskState.COMPLETED))

    try:
        with clock.frozen_at(now):
            workflow = Workflow.start(loaded, seed(), roles=roles)
        record()
        for _ in range(max_actions):
            if workflow.is_completed():
                break
            acted = False
            for task in workflow.ready_tasks():
                data = answer(task, now)
                if data is None:
                    continue
                with clock.frozen_at(now):
                    workflow.complete(task.uuid, data)
                record()
                acted = True
                break
            if acted:
                continue
            due = workflow.next_timer_at()
            waiting = workflow.waiting_messages() if message is not None else []
            chosen = message(waiting, due is not None) if waiting and message is not None else None
            if chosen is not None:
                with clock.frozen_at(now):
                    workflow.send_message(*chosen)
                record()
                continue
            if due is None:
                result.stopped = "waiting"  # for a message, or a task left unanswered without a timer
                break
            now = max(now, due.astimezone(now.tzinfo)) + timedelta(seconds=1)
            workflow.run_timers(now)
            record()
        else:
            result.stopped = "too_many_steps"
    except EngineError as exc:
        result.error = {"message": str(exc), "element": exc.element}
        if workflow is not None:
            record()
    except Exception as exc:  # SpiffWorkflow fails on some elements in plain Python errors: report, never 500
        log.warning("test run failed outside the engine's own errors: %r", exc)
        element = getattr(exc, "element", None)
        if workflow is not None:
            try:
                record()
                live = workflow.live_tasks()
                element = element or next(
                    (t.task_spec.bpmn_id for t in live if getattr(t.task_spec, "bpmn_id", None)), None
                )
            except Exception:  # the workflow is broken; the message says enough
                pass
        result.error = {"message": f"{type(exc).__name__}: {exc}", "element": element}
    if workflow is not None:
        try:
            result.completed = workflow.is_completed()
        except Exception:  # a workflow broken mid-step: report what is known
            return result
        result.active = workflow.element_states()["active"]
        result.notifications = list(workflow.notifications)
        data = workflow.data()
        result.data = {
            k: v for k, v in data.items() if k in ("result", "total", "revision_count") or k.endswith("_due")
        }
    return result
