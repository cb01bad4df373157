"""One unit of work for changing a process instance (docs/architecture.md).

    with unit_of_work.edit(instance_id, actor, "task_completed") as change:
        change.workflow.complete(...)      # the engine, loaded once per request
        change.save()                      # snapshot, human tasks, record, notifications
        change.audit("task_completed", step=...)

`edit` locks the instance row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite, which has no row
locks, the instance's version column catches a concurrent writer at flush), refuses an instance
that is terminated, failed or suspended unless the caller names the status in `allow`, and turns
every failure into one answer per cause, the same everywhere:

    cause                                       answer
    a concurrent writer changed the row          409 conflict  "changed meanwhile, reload"
    the row is locked too long / a deadlock      409 busy      "being changed by someone else, try again"
    the database cannot be reached               503 unavailable
    the engine failed (script, condition, ...)   409 conflict  "the process failed at <element>" (logged)
    the workflow is not waiting for that         409 conflict  (the caller's message, or "no longer waiting")
    a refusal of the use case (ServiceError)     as raised

A failure marks the transaction failed, so the outermost `transaction.committed()` rolls back
whatever the unit did; `on_engine_error` may register what must be kept anyway (the instance's
error status). The unit never commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import g, has_request_context
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.engine.runtime import EngineError, NotWaiting, Workflow
from app.models import HumanTask, ProcessInstance, User

from . import audit, transaction
from .evaluation import instances
from .errors import Conflict, NotFound, ServiceError, engine_failed, from_database, stale

log = logging.getLogger("app.uow")

NOT_WAITING_VI = "Quy trình không còn chờ thao tác này (việc đã xong hoặc đã đóng). Hãy tải lại trang."
NOT_WAITING_EN = "The process is no longer waiting for this (done or closed meanwhile). Reload the page."


class Change:
    """What a unit of work holds: the locked instance, its workflow (loaded on first use) and who acts."""

    def __init__(self, instance: ProcessInstance, actor: User | None, workflow: Workflow | None = None):
        self.instance, self.actor, self._workflow = instance, actor, workflow
        self.saved = False
        # the instance's open human tasks: a caller that read them under the lock hands them in, so the
        # projection does not read them again; after save(), the open tasks as projected
        self.open_tasks: list[HumanTask] | None = None
        # with `edit(of_task=...)`: that task and the instance's open ones as read under the lock, each
        # with whether it has a saved draft
        self.tasks: list[tuple[HumanTask, bool]] = []
        self.events: list[dict] = []  # audit rows for the next save()
        self.done: instances.Done | None = None  # the human task completed, written by the next save()

    @property
    def workflow(self) -> Workflow:
        if self._workflow is None:
            self._workflow = instances.load(self.instance)
        return self._workflow

    @property
    def loaded(self) -> bool:
        return self._workflow is not None

    def save(self) -> None:
        """Store the workflow and project it: snapshot, next timer, human tasks, the record."""
        self.open_tasks = instances.save(
            self.instance,
            self.workflow,
            actor=self.actor,
            open_rows=self.open_tasks,
            events=self.events,
            done=self.done,
        )
        self.events, self.done = [], None
        self.saved = True

    def mark_done(self, task: HumanTask, by: User, on_behalf_of: User | None = None) -> None:
        """`task` completed by `by` (for `on_behalf_of`, a delegation's principal): written by the
        next save(), with the projection."""
        self.done = instances.Done(task, by, on_behalf_of)

    def audit(self, action: str, **kwargs):
        kwargs.setdefault("actor", self.actor)
        return audit.record(action, instance=self.instance, **kwargs)

    def audit_with_save(self, action: str, **kwargs) -> None:
        """`audit`, the row written by the next save() with the projection's own (one INSERT for all)."""
        kwargs.setdefault("actor", self.actor)
        self.events.append(audit.row(action, instance=self.instance, **kwargs))


@contextmanager
def edit(
    instance: int | ProcessInstance | None,
    actor: User | None,
    use_case: str,
    *,
    allow: tuple[str, ...] = (),
    of_task: int | None = None,
    not_waiting: tuple[str, str] | None = None,
    on_engine_error: Callable[[int, EngineError], ServiceError | None] | None = None,
) -> Iterator[Change]:
    """Lock `instance` (an id, a row the caller has just locked, or with `of_task` the instance of that
    human task, read with its open tasks into `Change.tasks`) and yield a Change; see the module."""
    instance_id = instance.id if isinstance(instance, ProcessInstance) else instance
    started = time.perf_counter()
    try:
        if isinstance(instance, ProcessInstance):
            locked = instance
        elif of_task is not None:
            found = instances.lock_of_task(of_task, allow)
            if found is None:
                raise NotFound(f"Không tìm thấy việc #{of_task}", f"Task #{of_task} not found")
            locked, tasks = found
            instance_id = locked.id
        else:
            locked = instances.lock(instance_id, allow)
        if has_request_context():
            g.instance_id = instance_id  # every log line of the request names it
        change = Change(locked, actor)
        if of_task is not None:
            change.tasks = tasks
            change.open_tasks = [task for task, _ in tasks]
        yield change
    except ServiceError as exc:
        transaction.mark_failed()
        log.info("%s refused: instance=%s status=%s %s", use_case, instance_id, exc.status, exc.message_en)
        raise
    except NotWaiting as exc:
        transaction.mark_failed()
        log.info("%s refused: instance=%s not waiting: %s", use_case, instance_id, exc)
        raise Conflict(*(not_waiting or (NOT_WAITING_VI, NOT_WAITING_EN))) from exc
    except StaleDataError as exc:
        transaction.mark_failed()
        log.info("%s refused: instance=%s changed meanwhile", use_case, instance_id)
        raise stale() from exc
    except OperationalError as exc:
        transaction.mark_failed()
        answer = from_database(exc)
        log.warning(
            "%s failed: instance=%s database: %s -> %s",
            use_case,
            instance_id,
            str(exc.orig if exc.orig is not None else exc).splitlines()[0],
            answer.status,
        )
        raise answer from exc
    except EngineError as exc:
        transaction.mark_failed()
        log.error("%s failed: instance=%s engine error at %s: %s", use_case, instance_id, exc.element or "?", exc)
        answer = on_engine_error(instance_id, exc) if on_engine_error else None
        raise (answer or engine_failed(exc)) from exc
    else:
        log.info(
            "%s: instance=%s by=%s in %.1f ms",
            use_case,
            instance_id,
            actor.username if actor else "-",
            (time.perf_counter() - started) * 1000,
        )


def record_engine_error(
    action: str = "engine_error", actor: User | None = None, *, set_status: bool = True
) -> Callable[[int, EngineError], None]:
    """An `on_engine_error` that keeps, after the rollback, the error on the instance and an audit event."""

    def keep(instance_id: int, exc: EngineError) -> None:
        def write() -> None:
            from app.extensions import db

            failed = db.session.get(ProcessInstance, instance_id)
            if set_status:
                failed.status = "error"
            failed.error = f"{exc.element or '?'}: {exc}"
            audit.record(
                action,
                instance=failed,
                actor=actor,
                step=exc.element,
                details={"error": str(exc), "element": exc.element},
            )

        transaction.keep_on_failure(write)
        return None

    return keep
