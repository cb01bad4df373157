"""Start, load and save evaluation instances; keep the projections (tasks, record) in step.

Every change to an instance goes: lock the row -> load the workflow -> run -> save(), and
save() is the one place that rewrites the snapshot, the human tasks and the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Update, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app import localtime
from app.engine import persistence, specs
from app.engine import helpers
from app.engine.helpers import now_iso
from app.engine.runtime import Workflow
from app.engine.steps import answer
from app.extensions import db
from app.labels import STATUS_LABELS
from app.models import (
    AuditEvent,
    EvaluationRecord,
    HumanTask,
    ProcessInstance,
    ProcessVersion,
    Scheme,
    TaskDraft,
    Unit,
    User,
)
from app.models.workflow import TASK_READY
from app.rules.schemes import criteria_for
from app.rules.workdays import parse_period

from app.services import audit, bulk_insert
from . import why
from app.services.messaging import notifications
from app.services.organisation import authority
from app.services.regulation import schemes
from . import steps as process_steps
from app.services.errors import Conflict, NotFound


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
        "subject": {
            "username": subject.username,
            "full_name": subject.full_name,
            "position_group": subject.position_group,
        },
    }


def start(
    version: ProcessVersion, subject: User, period: str, actor: User | None = None, unit: Unit | None = None
) -> ProcessInstance:
    """Start `subject`'s month in `unit` (default: their unit; another one after a transfer)."""
    started = Starter(version, period, actor).start([(subject, unit or subject.unit)])
    if subject.id not in started:
        raise Conflict(
            f"{subject.full_name} đã có hồ sơ đánh giá kỳ {period}.",
            f"{subject.username} already has an evaluation for {period}.",
        )
    return db.session.get(ProcessInstance, started[subject.id])


class Starter:
    """Starts instances of one process version and period, many at a time, in the caller's
    transaction: the spec (cached), the calendar, the schemes per unit, the agencies and the
    heads are looked up once per Starter, not per person; each table gets one multi-row INSERT per
    batch. What is stored is exactly what `save()` would store (the same projection functions)."""

    def __init__(self, version: ProcessVersion, period: str, actor: User | None = None):
        self.version, self.period, self.actor = version, period, actor
        self.loaded = specs.load(version)
        self.calendar = helpers.calendar()
        self.authority = authority.Authority()
        self.scheme_for = schemes.ForUnits(period)
        self._agency_ids: dict[int, int] = {}

    def agency_id(self, unit: Unit) -> int:
        if unit.id not in self._agency_ids:
            agency = authority.agency_of_unit(unit)
            self._agency_ids[unit.id] = agency.id if agency else unit.id
        return self._agency_ids[unit.id]

    def start(self, people: list[tuple[User, Unit]]) -> dict[int, int]:
        """Start one instance per (subject, unit); returns {subject id: instance id} for those
        started. A subject who already has an instance for the period (e.g. started meanwhile by
        another opener) is left alone: the unique (subject, period) key decides, nothing is raised."""
        return write_started(self.prepare(people))

    def prepare(self, people: list[tuple[User, Unit]]) -> list[dict]:
        """Run the engine for each person and build their rows (plain data: `write_started` may
        run it in another session, e.g. a writer thread, while the next batch is prepared)."""
        with helpers.pinned_calendar(self.calendar):
            return [self._prepare_one(subject, unit) for subject, unit in people]

    def _prepare_one(self, subject: User, unit: Unit) -> dict:
        """One person: the engine run and every row it leads to (instance ids are filled in on write)."""
        scheme = self.scheme_for(unit)
        workflow = Workflow.start(
            self.loaded, seed_data(subject, self.period, scheme), role_holders(lambda: (subject, unit), self.authority)
        )
        live = workflow.live_tasks()
        ready = workflow.ready_tasks(live)
        columns, steps, completed = _instance_columns(workflow, ready, live)
        agency_id = self.agency_id(unit)
        item = {
            "instance": dict(
                columns,
                version_id=self.version.id,
                subject_id=subject.id,
                unit_id=unit.id,
                agency_id=agency_id,
                period=self.period,
                lock_version=1,
            ),
            "record": dict(
                _record_columns(workflow.data(live), steps, completed, process_steps.of_loaded(self.loaded)),
                subject_id=subject.id,
                unit_id=unit.id,
                agency_id=agency_id,
                period=self.period,
                scheme=scheme.code,
                scheme_id=scheme.id,
            ),
            "tasks": [],
            "messages": [],
            "scripted": list(workflow.notifications),
            "events": [
                _event(
                    "instance_started",
                    None,
                    actor=self.actor,
                    details={"period": self.period, "version": self.version.version},
                )
            ],
        }
        for task in ready:
            assignee = self.authority.resolve(task.role, subject, unit)
            item["tasks"].append(_task_row(task, None, subject.id, unit.id, agency_id, self.period, assignee))
            item["events"].append(
                _event(
                    "task_assigned",
                    None,
                    step=task.step,
                    details={"assignee": assignee.username if assignee else None, "role": task.role},
                )
            )
            if assignee is not None:
                item["messages"].append(
                    (
                        assignee.id,
                        "assigned",
                        _assigned_text(task, subject, self.period),
                        _assigned_text_en(task, subject, self.period),
                    )
                )
        return item


def write_started(batch: list[dict]) -> dict[int, int]:
    """Insert what `Starter.prepare` built, a few multi-row inserts per table (services.bulk_insert), in the
    current session's transaction; {subject id: instance id} of the instances inserted (a subject who
    has one for the period already is skipped: ON CONFLICT DO NOTHING on the unique (subject, period))."""
    if not batch:
        return {}
    started = {
        subject_id: iid
        for iid, subject_id in bulk_insert.insert_new(
            ProcessInstance.__table__, [b["instance"] for b in batch], ["subject_id", "period"], ["id", "subject_id"]
        )
    }
    records, tasks, events, messages, scripted = [], [], [], [], []
    for item in batch:
        iid = started.get(item["instance"]["subject_id"])
        if iid is None:
            continue
        records.append(dict(item["record"], instance_id=iid))
        tasks += [dict(row, instance_id=iid) for row in item["tasks"]]
        events += [dict(row, instance_id=iid) for row in item["events"]]
        messages += [(uid, kind, text, iid, text_en) for uid, kind, text, text_en in item["messages"]]
        if item["scripted"]:
            scripted.append((iid, item["scripted"]))
    bulk_insert.insert(EvaluationRecord.__table__, records)
    bulk_insert.insert(HumanTask.__table__, tasks)
    bulk_insert.insert(AuditEvent.__table__, events)
    notifications.send_many(messages)
    scripted_events: list[dict] = []
    scripted_messages: list[tuple] = []
    for iid, requests in scripted:  # what the start's scripts asked to tell (rare)
        _notify(db.session.get(ProcessInstance, iid), requests, None, scripted_events, scripted_messages)
    notifications.send_many(scripted_messages)
    audit.write(scripted_events)
    return started


def get(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá #{instance_id}", f"Evaluation #{instance_id} not found")
    return instance


def lock(instance_id: int, allow: tuple[str, ...] = ()) -> ProcessInstance:
    """Take the instance row for writing: FOR UPDATE on PostgreSQL; the version column catches
    a concurrent writer on SQLite. Terminated, failed and suspended instances refuse changes
    unless the caller (an operation: resume, retry, terminate) names the status in `allow`."""
    instance = db.session.scalars(_locking(ProcessInstance.id == instance_id)).first()
    if instance is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá #{instance_id}", f"Evaluation #{instance_id} not found")
    return _refuse_closed(instance, allow)


def hold(instance_id: int) -> ProcessInstance:
    """The instance row held until this transaction ends, for a use case that counts what the record
    holds before adding to it (evidence, comments) without running the workflow: FOR UPDATE on
    PostgreSQL; on SQLite, which has no row locks and reads outside a transaction until the first
    write, an UPDATE that changes nothing takes the database's write lock first, so what is counted
    next is what the insert follows (another writer waits, then counts this one's row)."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = ProcessInstance.__table__
        db.session.execute(update(table).where(table.c.id == instance_id).values(id=table.c.id))
    instance = db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    ).first()
    if instance is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá #{instance_id}", f"Evaluation #{instance_id} not found")
    return instance


def lock_of_task(
    task_id: int, allow: tuple[str, ...] = ()
) -> tuple[ProcessInstance, list[tuple[HumanTask, bool]]] | None:
    """The instance of human task `task_id`, locked as `lock` does, with that task and the instance's
    other open ones, each with whether it has a saved draft (None: no such task). One statement: a
    completion needs all of it, and looking the task up, locking, then reading the tasks took three."""
    rows = db.session.execute(_LOCK_OF_TASK, {"task_id": task_id}).all()
    if not rows:
        return None
    return _refuse_closed(rows[0][0], allow), [(task, drafted) for _, task, drafted in rows]


def _locking(where):
    """SELECT … FOR UPDATE OF the instance, with what every change reads anyway (the subject and their
    manager, whom the review is assigned to and gateways compare, the unit, the version row, whose files
    stay deferred, and the record it projects) in one statement."""
    return (
        select(ProcessInstance)
        .where(where)
        .options(
            joinedload(ProcessInstance.subject, innerjoin=True).joinedload(User.manager),
            joinedload(ProcessInstance.unit, innerjoin=True),
            joinedload(ProcessInstance.version, innerjoin=True),
            joinedload(ProcessInstance.record),
        )
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    )


# built once (every completion runs it; building it cost a quarter of running it)
_LOCK_OF_TASK = (
    _locking(
        ProcessInstance.id
        == select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id")).scalar_subquery()
    )
    .add_columns(HumanTask, exists().where(TaskDraft.task_id == HumanTask.id))
    .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
    .where(or_(HumanTask.id == bindparam("task_id"), HumanTask.status == TASK_READY))
)


def _refuse_closed(instance: ProcessInstance, allow: tuple[str, ...]) -> ProcessInstance:
    if instance.status in ("terminated", "error", "suspended") and instance.status not in allow:
        raise Conflict(
            f"Hồ sơ đang ở trạng thái “{STATUS_LABELS[instance.status]}”, không thể thay đổi.",
            f"The evaluation is {instance.status} and cannot change.",
        )
    return instance


def load(instance: ProcessInstance) -> Workflow:
    return Workflow.load(
        specs.load(instance.version), instance.snapshot, role_holders(lambda: (instance.subject, instance.unit))
    )


def role_holders(whose: Callable[[], tuple[User, Unit | None]], resolver: authority.Authority | None = None):
    """Lane role -> the id of the person who holds it for the subject `whose()` gives, in the unit that
    evaluates them: what `same_holder()` in a gateway condition compares. Nothing is looked up until a
    condition asks (most runs never do), then once per role and run."""
    cache: dict[str, int | None] = {}

    def holder(role: str) -> int | None:
        if role not in cache:
            subject, unit = whose()
            cache[role] = (resolver or authority.Authority()).holder_id(role, subject, unit)
        return cache[role]

    return holder


def version_files(instance: ProcessInstance) -> dict[str, str]:
    """The files of the instance's process version from the spec cache: a request that runs the
    workflow has them parsed already, so forms need no second read of the (deferred) files column."""
    return specs.load(instance.version).files


def diagram(instance: ProcessInstance) -> dict:
    """The BPMN of the instance's own version with its completed and active elements."""
    files = instance.version.files
    xml = next((text for name, text in sorted(files.items()) if name.endswith(".bpmn")), "")
    return {"xml": xml, **load(instance).element_states()}


def record_of(instance: ProcessInstance) -> EvaluationRecord:
    """Loaded once per instance and session (a completion projects it, then its response reads it)."""
    record = instance.record
    if record is None:
        raise NotFound(f"Không tìm thấy kết quả của hồ sơ #{instance.id}", f"No record for evaluation #{instance.id}")
    return record


def save(
    instance: ProcessInstance,
    workflow: Workflow,
    actor: User | None = None,
    open_rows: list[HumanTask] | None = None,
    events: list[dict] | None = None,
    done: Done | None = None,
) -> list[HumanTask]:
    """Store the workflow and project it; the instance's open human tasks afterwards, by id.
    `open_rows`: its human tasks as read under the lock (those still "ready" are the open ones), when
    the caller has them, so they are not read again. `events`: the caller's audit rows
    (`audit.row`), written after what the session holds and before the projection's own. `done`: the
    human task the caller completed, written with the projection.

    What the caller changed through the ORM is flushed first; the projection itself is written in
    SQL statements (the instance's version checked by hand, as the ORM would) and the session's
    objects are set to what was written, so the request reads them without a reload: the ORM's flush
    of the same five rows cost more than the engine's whole run."""
    db.session.flush()
    live = workflow.live_tasks()
    ready = workflow.ready_tasks(live)
    columns, steps, completed = _instance_columns(workflow, ready, live)
    now = datetime.now(timezone.utc)
    _write_instance(instance, columns, now)
    if done is not None:
        _write_done(done, now)
    data = workflow.data(live)
    events = list(events or [])
    messages: list[tuple] = []
    opened = _sync_tasks(instance, workflow, ready, open_rows, events, messages, now)
    _project_record(instance, data, steps, completed, process_steps.of_loaded(workflow.loaded), now)
    _notify(instance, workflow.notifications, data, events, messages)
    workflow.notifications.clear()
    notifications.send_many(messages)
    audit.write(events)
    return sorted(opened, key=lambda t: t.id)


@dataclass(frozen=True)
class Done:
    """A human task completed by `by` (on behalf of `on_behalf_of`, a delegation's principal)."""

    task: HumanTask
    by: User
    on_behalf_of: User | None = None


# The projection's statements are built once: building and keying a statement for SQLAlchemy's cache
# cost more than its execution, on the path every completion takes.
_INSTANCES, _TASKS, _RECORDS = ProcessInstance.__table__, HumanTask.__table__, EvaluationRecord.__table__
_INSTANCE_COLUMNS = ("snapshot", "serializer_version", "next_timer_at", "status", "step", "error")
_WRITE_INSTANCE = (
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("pk"), _INSTANCES.c.lock_version == bindparam("seen_version"))
    .values({name: bindparam(name) for name in _INSTANCE_COLUMNS + ("lock_version", "updated_at")})
)
_DONE_COLUMNS = ("status", "completed_at", "completed_by_id", "on_behalf_of_id")
_WRITE_DONE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("pk"), _TASKS.c.status == TASK_READY)
    .values({name: bindparam(name) for name in _DONE_COLUMNS})
)
_CLOSE_TASKS = (
    update(_TASKS)
    .where(_TASKS.c.id.in_(bindparam("pks", expanding=True)))
    .values(status="cancelled", completed_at=bindparam("now"))
)
_INSERT_TASKS = insert(_TASKS).returning(_TASKS.c.id, sort_by_parameter_order=True)
_record_updates: dict[tuple[str, ...], Update] = {}  # per set of changed columns (a handful)


def _write_instance(instance: ProcessInstance, columns: dict, now: datetime) -> None:
    """UPDATE the instance where its version is still the one read under the lock (a concurrent
    writer on SQLite, which has no row lock, makes it match nothing: StaleDataError, a 409)."""
    version = instance.lock_version
    values = dict(columns, lock_version=version + 1, updated_at=now)
    written = db.session.connection().execute(_WRITE_INSTANCE, dict(values, pk=instance.id, seen_version=version))
    if written.rowcount != 1:
        raise StaleDataError(f"process_instances #{instance.id} changed since version {version}")
    _loaded_as(instance, values)


def _write_done(done: Done, now: datetime) -> None:
    values = {
        "status": "completed",
        "completed_at": now,
        "completed_by_id": done.by.id,
        "on_behalf_of_id": done.on_behalf_of.id if done.on_behalf_of else None,
    }
    written = db.session.connection().execute(_WRITE_DONE, dict(values, pk=done.task.id))
    if written.rowcount != 1:
        raise StaleDataError(f"human_tasks #{done.task.id} is no longer ready")
    _loaded_as(done.task, values)
    # who completed it and for whom: read from the new ids if asked, not from what was loaded before
    db.session.expire(done.task, ["completed_by", "on_behalf_of"])


def _loaded_as(row, values: dict) -> None:
    """The session's object as the database now holds it, with no change pending."""
    for name, value in values.items():
        set_committed_value(row, name, value)


def _instance_columns(workflow: Workflow, ready: list, live: list) -> tuple[dict, list[str], bool]:
    """The instance row's engine-derived columns, the active steps, and whether it completed."""
    steps = sorted({t.step for t in ready})
    completed = workflow.is_completed()
    return (
        {
            "snapshot": workflow.dump(),
            "serializer_version": persistence.SERIALIZER_VERSION,
            "next_timer_at": workflow.next_timer_at(live),
            "status": "completed" if completed else "running",
            "step": ",".join(steps) if steps else ("locked" if completed else "waiting"),
            "error": None,
        },
        steps,
        completed,
    )


def _task_row(
    task, instance_id: int | None, subject_id: int, unit_id: int, agency_id: int, period: str, assignee: User | None
) -> dict:
    """A human_tasks row for a task that just became ready."""
    return {
        "instance_id": instance_id,
        "task_uuid": task.uuid,
        "step": task.step,
        "title": task.title,
        "lane_role": task.role,
        "form": task.form,
        "assignee_id": assignee.id if assignee else None,
        "subject_id": subject_id,
        "unit_id": unit_id,
        "agency_id": agency_id,
        "period": period,
        "status": TASK_READY,
        "due_at": _parse_instant(task.data.get(f"{task.step}_due")),
        "created_at": datetime.now(timezone.utc),
    }


def _assigned_text(task, subject: User, period: str) -> str:
    return f"Việc mới: {task.title} — {subject.full_name} ({period})"


def _assigned_text_en(task, subject: User, period: str) -> str:
    return f"New task: {title_en(task.title)} — {subject.full_name} ({period})"


def title_en(title: str) -> str:
    """A step's English title from the catalog (a step a designer added keeps its own title)."""
    from app.i18n import translate_in

    return translate_in("en", title)


def _event(
    action: str,
    instance_id: int | None,
    *,
    actor: User | None = None,
    step: str | None = None,
    details: dict | None = None,
) -> dict:
    """An audit_events row, as audit.record() would add it (for multi-row inserts)."""
    return {
        "instance_id": instance_id,
        "actor_id": actor.id if actor is not None else None,
        "on_behalf_of_id": None,
        "at": datetime.now(timezone.utc),
        "action": action,
        "step": step,
        "details": details or {},
    }


def _parse_instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).astimezone(timezone.utc)
    except ValueError:
        return None


def _sync_tasks(
    instance: ProcessInstance,
    workflow: Workflow,
    ready: list | None,
    known: list[HumanTask] | None,
    events: list[dict],
    messages: list[tuple],
    now: datetime,
) -> list[HumanTask]:
    """Close the human tasks the process no longer waits for, open one for each new ready task (their
    audit rows go to `events`, the assignees' notifications to `messages`); the open ones afterwards."""
    if known is None:
        known = list(
            db.session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TASK_READY)
            )
        )
    open_rows = {ht.task_uuid: ht for ht in known if ht.status == TASK_READY and ht.instance_id == instance.id}
    ready = workflow.ready_tasks() if ready is None else ready
    ready_ids = {t.uuid for t in ready}
    still_open, closed = [], []
    for uuid, row in open_rows.items():
        if uuid not in ready_ids:
            closed.append(row)
            events.append(
                audit.row(
                    "task_closed",
                    instance=instance,
                    step=row.step,
                    details={
                        "reason": "closed by the process (deadline, cancellation)",
                        "assignee": row.assignee.username if row.assignee else None,
                    },
                )
            )
        else:
            still_open.append(row)
    if closed:
        db.session.connection().execute(_CLOSE_TASKS, {"pks": [row.id for row in closed], "now": now})
        for row in closed:
            _loaded_as(row, {"status": "cancelled", "completed_at": now})
    subject = instance.subject
    new_rows = []
    for task in ready:
        if task.uuid in open_rows:
            continue
        assignee = authority.resolve(task.role, subject, instance.unit)
        new_rows.append(
            _task_row(task, instance.id, subject.id, instance.unit_id, instance.agency_id, instance.period, assignee)
        )
        events.append(
            audit.row(
                "task_assigned",
                instance=instance,
                step=task.step,
                details={"assignee": assignee.username if assignee else None, "role": task.role},
            )
        )
        if assignee is not None:
            messages.append(
                (
                    assignee.id,
                    "assigned",
                    _assigned_text(task, subject, instance.period),
                    instance.id,
                    _assigned_text_en(task, subject, instance.period),
                )
            )
    return still_open + _insert_tasks(new_rows)


def _insert_tasks(rows: list[dict]) -> list[HumanTask]:
    """INSERT the new human tasks (their ids back in the same statement) and hand the session the
    rows as stored."""
    if not rows:
        return []
    ids = db.session.connection().execute(_INSERT_TASKS, rows)
    out = []
    for new_id, row in zip(ids.scalars(), rows, strict=True):
        task = HumanTask(
            id=new_id, on_behalf_of_id=None, completed_at=None, completed_by_id=None, overdue_notified_at=None, **row
        )
        make_transient_to_detached(task)
        db.session.add(task)
        out.append(task)
    return out


def _project_record(
    instance: ProcessInstance,
    data: dict,
    steps: list[str],
    completed: bool,
    infos: dict[str, process_steps.StepInfo],
    now: datetime,
) -> None:
    """UPDATE the record's columns the workflow's data changed (none changed: no statement, as the
    ORM would; the summary's triggers count every UPDATE)."""
    record = record_of(instance)
    columns = _record_columns(data, steps, completed, infos)
    changed = {name: value for name, value in columns.items() if getattr(record, name) != value}
    if not changed:
        return
    changed["updated_at"] = now
    names = tuple(sorted(changed))
    statement = _record_updates.get(names)
    if statement is None:
        statement = _record_updates[names] = (
            update(_RECORDS).where(_RECORDS.c.id == bindparam("pk")).values({name: bindparam(name) for name in names})
        )
    db.session.connection().execute(statement, dict(changed, pk=record.id))
    _loaded_as(record, changed)


def _record_columns(data: dict, steps: list[str], completed: bool, infos: dict[str, process_steps.StepInfo]) -> dict:
    """What the workflow's data says about the business record; keys left out stay as they are. The
    status while a step is open is the one the step declares (its stepStatus property)."""
    # the answers of the steps that mean the self-evaluation, the review and the appeal's amendment
    self_eval = answer(infos, data, "self_evaluation")
    review = answer(infos, data, "review")
    result = data.get("result") if isinstance(data.get("result"), dict) else None
    amendment = answer(infos, data, "appeal")
    out = {
        "self_total": self_eval.get("total") if self_eval else None,
        "self_evaluation_missed": bool(data.get("self_evaluation_missed")),
        "review_total": data.get("total") if review and result else None,
        "proposed_level": (review or {}).get("proposed_level"),
    }
    if result:
        out["total"], out["level"] = result.get("total"), result.get("level")
        out["rules_applied"] = result.get("rules_applied")
        amended = result.get("amended") and amendment
        out["scores"] = (amendment if amended else review or {}).get("scores")
        if not amended and isinstance(result.get("scores"), dict):
            out["scores"] = result["scores"]  # the decider confirmed the plan's objective causes
    kpi = next((src["kpi"] for src in (result, review, self_eval) if src and isinstance(src.get("kpi"), dict)), None)
    if kpi is not None:
        out["kpi"] = kpi
    out["appealed"] = isinstance(data.get("appeal"), dict)
    out["published_at"] = _parse_instant(data.get("published_at"))
    out["appeal_due"] = _parse_instant(data.get("appeal_due"))
    out["locked_at"] = _parse_instant(data.get("locked_at")) if completed else None
    if completed:
        out["status"] = "locked"
    elif steps:
        # of parallel steps, the earliest declared status stands (the month is no further than that)
        out["status"] = min((infos[s].status if s in infos else s for s in steps), key=_status_rank)
    elif out["published_at"]:
        out["status"] = "published"
    elif data.get("plan_phase") and not self_eval and "self_evaluation_missed" in data and not review:
        out["status"] = "in_progress"  # the plan is approved; the month runs until it ends
    return out


def _status_rank(status: str) -> int:
    order = process_steps.STEP_STATUSES
    return order.index(status) if status in order else len(order)


NOTIFY_TEXT = {
    "published": "Kết quả đánh giá tháng {period} đã được công bố: {total} điểm, loại {level}. "
    "Anh/chị có thể kiến nghị đến hết {appeal_due}.",
    "appeal_answered": "Kiến nghị về kết quả tháng {period} đã được giải quyết: {total} điểm, loại {level}.",
    "returned": "Lãnh đạo trả lại bản tự đánh giá tháng {period} để bổ sung.",
    "plan_returned": "Lãnh đạo trả lại kế hoạch công tác tháng {period} để đăng ký lại.",
}
NOTIFY_TEXT_EN = {
    "published": "Your evaluation for {period} is published: {total} points, level {level}. "
    "You may appeal until {appeal_due}.",
    "appeal_answered": "Your appeal about {period} has been answered: {total} points, level {level}.",
    "returned": "Your manager returned your self-evaluation for {period} for completion.",
    "plan_returned": "Your manager returned your work plan for {period} for re-registration.",
}


def _notify(
    instance: ProcessInstance, requests: list[dict], data: dict | None, events: list[dict], messages: list[tuple]
) -> None:
    """Turn the scripts' notify() calls into in-app notifications for the right people (`messages`, as
    notifications.send_many takes them; audit rows to `events`). A result or an appeal's answer says
    why, in each language (`data`, the workflow's, holds the answer's reason)."""
    if not requests:
        return
    record = record_of(instance)
    for request in requests:
        kind, step = request.get("kind"), request.get("step")
        if kind == "reminder":
            rows = db.session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance.id, HumanTask.status == TASK_READY, HumanTask.step == step
                )
            ).all()
            for row in rows:
                due = _local_date(row.due_at)
                messages.append(
                    (
                        row.assignee_id,
                        "reminder",
                        f"Nhắc việc: {row.title} — hạn {due}",
                        instance.id,
                        f"Reminder: {title_en(row.title)} — due {due}",
                    )
                )
            events.append(audit.row("reminder_sent", instance=instance, step=step))
        elif kind in NOTIFY_TEXT:
            text = NOTIFY_TEXT[kind].format(
                period=instance.period,
                total=_fmt(record.total),
                level=record.level,
                appeal_due=_local_date(record.appeal_due),
            )
            text_en = NOTIFY_TEXT_EN[kind].format(
                period=instance.period,
                total=_fmt(record.total, "en"),
                level=record.level,
                appeal_due=_local_date(record.appeal_due),
            )
            if kind in ("published", "appeal_answered"):
                because = why.of_record(record, why.appeal_answer(instance, data), why.quota_of(record))
                text = " ".join([text] + why.texts(because, "vi"))
                text_en = " ".join([text_en] + why.texts(because, "en"))
            messages.append((instance.subject_id, kind, text, instance.id, text_en))
            if kind == "published":
                events.append(
                    audit.row("published", instance=instance, details={"total": record.total, "level": record.level})
                )
        elif kind == "escalation":
            events.append(audit.row("escalated", instance=instance, step=step))


def _local_date(dt: datetime | None) -> str:
    return localtime.format(dt)


def _fmt(value, lang: str = "vi") -> str:
    if value is None:
        return "—"
    return f"{value:g}" if lang == "en" else f"{value:g}".replace(".", ",")
