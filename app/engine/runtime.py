"""Run one workflow: start, complete a user task, deliver a message, fire due timers.

Every operation returns the requests that scripts made through `notify()` during the run, so
the caller (a service) can turn them into notifications after it saved.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from . import classification, clock, helpers, persistence, redact, sandbox
from .specs import LoadedSpec, lane_role

# lane role -> the user id that holds it for this subject (see helpers.same_holder)
RoleHolders = Callable[[str], int | None]


class EngineError(Exception):
    """The workflow could not run; `element` is the BPMN id that failed, when known. Its text is what
    users and designers are shown, so it never carries a configuration or environment value."""

    def __init__(self, message: str, element: str | None = None):
        super().__init__(redact.scrub(message))
        self.element = element


class NotWaiting(EngineError):
    """A message or completion the workflow is not waiting for."""


@dataclass
class ReadyTask:
    uuid: str
    step: str
    title: str
    lane: str | None
    role: str | None
    form: str | None
    instructions: str
    variable: str | None
    data: dict[str, Any]


@contextlib.contextmanager
def _run(
    now: datetime | None = None, roles: RoleHolders | None = None, loaded: LoadedSpec | None = None
) -> Iterator[list[dict[str, Any]]]:
    box: list[dict[str, Any]] = []
    token = helpers.outbox.set(box)
    scale_token = helpers.current_thresholds.set(
        (lambda: classification.thresholds(loaded)) if loaded is not None else None
    )
    calendar_token = helpers.current_calendar.set(helpers.calendar())
    roles_token = helpers.current_roles.set(roles)
    try:
        with clock.frozen_at(now):
            yield box
    except WorkflowException as exc:
        task = getattr(exc, "task", None)
        element = task.task_spec.name if task is not None else getattr(getattr(exc, "task_spec", None), "name", None)
        raise EngineError(str(exc), element) from exc
    except SpiffWorkflowException as exc:
        raise EngineError(str(exc)) from exc
    finally:
        helpers.outbox.reset(token)
        helpers.current_calendar.reset(calendar_token)
        helpers.current_roles.reset(roles_token)
        helpers.current_thresholds.reset(scale_token)


class Workflow:
    """A loaded BpmnWorkflow with the few operations the services need."""

    def __init__(self, wf: BpmnWorkflow, loaded: LoadedSpec, roles: RoleHolders | None = None):
        """`roles`: lane role -> holder's user id, for `same_holder()` in conditions (see helpers)."""
        self.wf, self.loaded, self.roles = wf, loaded, roles
        self.notifications: list[dict[str, Any]] = []

    @classmethod
    def start(cls, loaded: LoadedSpec, data: dict[str, Any], roles: RoleHolders | None = None) -> "Workflow":
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
        sandbox.attach(wf)
        wf.task_tree.data.update(data)
        self = cls(wf, loaded, roles)
        with _run(roles=roles, loaded=loaded) as box:
            wf.do_engine_steps()
        self.notifications += box
        return self

    @classmethod
    def load(cls, loaded: LoadedSpec, snapshot: str, roles: RoleHolders | None = None) -> "Workflow":
        return cls(persistence.load(snapshot, loaded), loaded, roles)

    def dump(self) -> str:
        return persistence.dump(self.wf)

    # --- reading -------------------------------------------------------------------------
    def live_tasks(self) -> list[SpiffTask]:
        """The READY and WAITING tasks in one walk of the task tree: pass them to ready_tasks(),
        data() and next_timer_at() when several are needed (each would walk the tree again)."""
        tasks: list[SpiffTask] = self.wf.get_tasks(state=TaskState.READY | TaskState.WAITING)
        return tasks

    def ready_tasks(self, live: list[SpiffTask] | None = None) -> list[ReadyTask]:
        out = []
        tasks = (
            self.wf.get_tasks(state=TaskState.READY, manual=True)
            if live is None
            else [t for t in live if t.state == TaskState.READY and t.task_spec.manual]
        )
        for task in tasks:
            info = self.loaded.user_tasks.get(task.task_spec.name, {})
            out.append(
                ReadyTask(
                    uuid=str(task.id),
                    step=task.task_spec.name,
                    title=info.get("title") or task.task_spec.name,
                    lane=task.task_spec.lane,
                    role=lane_role(task.task_spec.lane),
                    form=info.get("form"),
                    instructions=info.get("instructions", ""),
                    variable=info.get("variable"),
                    data=task.data,
                )
            )
        return out

    def score_level(self, total: float, output: str = "score_level") -> str | None:
        """The level this version's own classification decision table gives a total (the table of the
        first business rule task that outputs `output`), so a new DMN version changes every level
        computed outside the run too. None when the process has no such table or no rule matches."""
        return classification.decide(self.loaded, self.wf, total, output)

    def data(self, live: list[SpiffTask] | None = None) -> dict[str, Any]:
        """The freshest data: the last completed task's (wf.data stays empty until the end)."""
        data: dict[str, Any]
        if self.wf.is_completed():
            data = self.wf.data or (self.wf.last_task.data if self.wf.last_task else {})
            return data
        ready = self.live_tasks() if live is None else live
        if ready:
            data = max(ready, key=lambda t: t.last_state_change).data
            return data
        data = self.wf.last_task.data if self.wf.last_task else {}
        return data

    def is_completed(self) -> bool:
        return bool(self.wf.is_completed())

    def next_timer_at(self, live: list[SpiffTask] | None = None) -> datetime | None:
        due = []
        waiting = (
            self.wf.get_tasks(state=TaskState.WAITING)
            if live is None
            else [t for t in live if t.state == TaskState.WAITING]
        )
        for task in waiting:
            value = task.internal_data.get("event_value")
            if isinstance(value, dict):
                value = value.get("next")
            if isinstance(value, str):
                try:
                    due.append(datetime.fromisoformat(value).astimezone(timezone.utc))
                except ValueError:
                    continue
        return min(due) if due else None

    def waiting_messages(self) -> list[str]:
        """Names of the messages a waiting catch event of this workflow would take."""
        names = []
        for task in self.wf.get_tasks(state=TaskState.WAITING):
            event = getattr(task.task_spec, "event_definition", None)
            # an event-based gateway waits for all its events at once (MultipleEventDefinition)
            for one in getattr(event, "event_definitions", None) or [event]:
                if isinstance(one, MessageEventDefinition) and one.name not in names:
                    names.append(one.name)
        return names

    def element_states(self) -> dict[str, list[str]]:
        """BPMN ids of completed and active (ready or waiting) elements, for the diagram."""

        def ids(state: int) -> list[str]:
            return sorted(
                {t.task_spec.bpmn_id for t in self.wf.get_tasks(state=state) if getattr(t.task_spec, "bpmn_id", None)}
            )

        return {"completed": ids(TaskState.COMPLETED), "active": ids(TaskState.READY | TaskState.WAITING)}

    # --- changing ------------------------------------------------------------------------
    def complete(self, task_uuid: str, form: dict[str, Any]) -> None:
        task = self.wf.get_task_from_id(UUID(task_uuid))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise NotWaiting("task is not ready")
        if not hasattr(task.task_spec, "add_data_from_form"):  # e.g. a plain bpmn:task
            raise EngineError(
                f"{task.task_spec.bpmn_id or task.task_spec.name} is not a form step",
                task.task_spec.bpmn_id or task.task_spec.name,
            )
        with _run(roles=self.roles, loaded=self.loaded) as box:
            task.task_spec.add_data_from_form(task, form)
            task.run()
            self.wf.do_engine_steps()
        self.notifications += box

    def send_message(self, name: str, payload: dict[str, Any]) -> None:
        with _run(roles=self.roles, loaded=self.loaded) as box:
            try:
                self.wf.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
            except WorkflowException as exc:  # "This process is not waiting for ..."
                raise NotWaiting(str(exc)) from exc
            self.wf.do_engine_steps()
        self.notifications += box

    def cancel(self) -> None:
        """End the workflow where it stands (cancelled tasks, no further steps)."""
        with _run(roles=self.roles, loaded=self.loaded):
            self.wf.cancel()

    def move_deadlines(self, values: dict[str, str]) -> list[dict[str, Any]]:
        """Set due-date variables (e.g. `review_due`) in the live data of the waiting and ready tasks
        and re-evaluate every waiting date timer whose expression reads one of them, so that both the
        deadline boundary timer (which cached its date when it started waiting) and the reminder
        follow. Returns the timers moved: `[{element, before, after}]`."""
        names = re.compile(r"\b(" + "|".join(re.escape(n) for n in values) + r")\b") if values else None
        moved = []
        with _run(roles=self.roles, loaded=self.loaded):
            live = self.wf.get_tasks(state=TaskState.READY | TaskState.WAITING)
            # A boundary event re-inherits its parent's data (the split above the user task) when it
            # fires, so that parent holds the new values too.
            holders = {id(t): t for t in live} | {id(t.parent): t.parent for t in live if t.parent is not None}
            for task in holders.values():
                for name, value in values.items():
                    if name in task.data:
                        task.data[name] = value
            for task in live:
                event = getattr(task.task_spec, "event_definition", None)
                if task.state != TaskState.WAITING or not isinstance(event, TimeDateEventDefinition):
                    continue
                if names is None or not names.search(event.expression or ""):
                    continue
                before = task.internal_data.get("event_value")
                after = self.wf.script_engine.evaluate(task, event.expression)
                task.internal_data["event_value"] = after
                moved.append(
                    {"element": task.task_spec.bpmn_id or task.task_spec.name, "before": before, "after": after}
                )
        return moved

    def run_timers(self, now: datetime | None = None) -> None:
        with _run(now, self.roles, self.loaded) as box:
            self.wf.refresh_timers()
            self.wf.do_engine_steps()
        self.notifications += box
