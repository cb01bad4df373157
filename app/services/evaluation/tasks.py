"""The inbox and task completion."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app import forms, i18n
from app.i18n import N_
from app.engine.steps import prefill_source
from app.extensions import db
from app.models import EvaluationRecord, Evidence, HumanTask, TaskDraft, User
from app.models.workflow import TASK_READY
from app.rules import levels

from app.services import metrics, unit_of_work
from . import evidence, instances, plans, quota
from app.services.organisation import authority
from . import steps as process_steps
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, field_details

log = logging.getLogger(__name__)

CONFLICT_VI = "Việc này đã được hoàn thành hoặc hồ sơ vừa được người khác thay đổi. Hãy tải lại trang."
CONFLICT_EN = "This task was already completed or the evaluation changed meanwhile. Reload the page."


def inbox(user: User) -> list[HumanTask]:
    """My ready tasks, and those of the people I act for by delegation today."""
    assignees = [user.id] + [p.id for p in authority.principals_of(user)]
    return db.session.scalars(
        select(HumanTask)
        .options(joinedload(HumanTask.subject), joinedload(HumanTask.unit), joinedload(HumanTask.assignee))
        .where(
            HumanTask.assignee_id.in_(assignees),
            HumanTask.status == TASK_READY,
            (HumanTask.subject_id != user.id) | (HumanTask.lane_role == "subject"),
            # a delegation hands over authority, never the principal's own record
            (HumanTask.assignee_id == user.id) | (HumanTask.subject_id != HumanTask.assignee_id),
        )
        .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
    ).all()


def get_task(task_id: int) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"Không tìm thấy việc #{task_id}", f"Task #{task_id} not found")
    return task


def check_assignee(task: HumanTask, user: User) -> User | None:
    """The principal when `user` acts by delegation, None when the task is theirs; else 403."""
    principal = authority.acting_for(user, task.assignee_id)
    if principal is False:
        raise Forbidden("Việc này không được giao cho anh/chị.", "This task is not assigned to you.")
    if principal is not None and task.subject_id == principal.id:
        raise Forbidden(
            "Ủy quyền không bao gồm hồ sơ đánh giá của chính người ủy quyền.",
            "A delegation never covers the principal's own evaluation.",
        )
    return principal


@dataclass
class TaskView:
    """What a task page or GET /tasks/{id} shows: the expanded schema and the prefilled data."""

    task: HumanTask
    schema: dict
    ui_schema: dict
    data: dict
    context: dict
    instructions: str

    @cached_property
    def previous(self) -> EvaluationRecord | None:
        """Read when the page shows it (a successful submit never does)."""
        return previous_result(self.task)


# The shipped steps' titles (from the BPMN), marked so the English catalog translates them.
STEP_TITLES = [
    N_("Cá nhân đăng ký kế hoạch công tác tháng"),
    N_("Lãnh đạo trực tiếp duyệt kế hoạch công tác"),
    N_("Cá nhân tự đánh giá, chấm điểm"),
    N_("Lãnh đạo trực tiếp nhận xét, chấm điểm"),
    N_("Thủ trưởng chấm điểm thay (quá hạn)"),
    N_("Thủ trưởng nhận xét, chấm điểm"),
    N_("Thủ trưởng quyết định xếp loại"),
    N_("Giải quyết kiến nghị"),
]


def step_title(task: HumanTask, lang: str | None = None) -> str:
    """The task's title in the language (a step a designer added keeps its own title)."""
    return i18n.translate_in(lang or i18n.current(), task.title)


def step_label(task: HumanTask, lang: str | None = None) -> str:
    """'Bước 2/4: Lãnh đạo trực tiếp nhận xét, chấm điểm' — steps a designer adds show their title."""
    lang = lang or i18n.current()
    number = process_steps.number(task.step)
    title = step_title(task, lang)
    if not number:
        return title
    return i18n.translate_in(lang, "Bước %(n)s/%(of)s: %(title)s", n=number[0], of=number[1], title=title)


def previous_result(task: HumanTask) -> EvaluationRecord | None:
    """The subject's latest published result before this month, for comparison."""
    return db.session.scalars(
        select(EvaluationRecord)
        .where(
            EvaluationRecord.subject_id == task.subject_id,
            EvaluationRecord.period < task.period,
            EvaluationRecord.published_at.is_not(None),
        )
        .order_by(EvaluationRecord.period.desc())
        .limit(1)
    ).first()


def view(task_id: int, user: User) -> TaskView:
    task = get_task(task_id)
    check_assignee(task, user)
    if task.status != TASK_READY:
        raise Conflict(CONFLICT_VI, CONFLICT_EN)
    instance = task.instance
    return _view(task, instance, instances.load(instance))


def _view(task: HumanTask, instance, workflow, drafted: bool = True) -> TaskView:
    """The page of a task from a loaded workflow (the submit reuses the workflow it locked, and knows
    whether the task has a draft)."""
    ready = next((t for t in workflow.ready_tasks() if t.uuid == task.task_uuid), None)
    context = form_context(ready.data) if ready else {}
    schema = form_schema(instance, task.form, context, task.step)
    ui_schema = {}
    ui_name = workflow.loaded.user_tasks.get(task.step, {}).get("ui_form")
    if ui_name:
        ui_schema = forms.load_form(instances.version_files(instance), ui_name)
    prefill = context.get(ready.variable) if ready and ready.variable else None
    if not prefill:
        prefill = _prefill_scores(process_steps.of_loaded(workflow.loaded), task.step, context)
    # the shipped steps' instructions are in the catalog (instruction_texts): the reader's language
    lang = i18n.current()
    instructions = (
        forms.render_instructions(i18n.translate_in(lang, ready.instructions), context, lang) if ready else ""
    )
    draft = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).first() if drafted else None
    data = draft.data if draft is not None else (prefill or {})
    data = plans.prefill(task.step, instance, data, from_draft=draft is not None)
    return TaskView(task, schema, ui_schema, data, context, instructions)


def save_draft(task_id: int, user: User, data: dict) -> datetime:
    """Keep what was typed so far (not validated); a completed task takes no more drafts."""
    task = get_task(task_id)
    check_assignee(task, user)
    if task.status != TASK_READY:
        raise Conflict(CONFLICT_VI, CONFLICT_EN)
    draft = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).first()
    if draft is None:
        draft = TaskDraft(task_id=task.id, user_id=user.id, data={})
        db.session.add(draft)
    draft.data, draft.user_id = data if isinstance(data, dict) else {}, user.id
    draft.updated_at = datetime.now(timezone.utc)
    db.session.flush()
    return draft.updated_at


def typed_over_stored(view: TaskView, data: dict) -> dict:
    """What was typed, over the items as stored (their read-only title, weight, deadline)."""
    stored = {r.get("id"): r for r in view.data.get("items") or [] if isinstance(r, dict) and r.get("id") is not None}
    rows = [
        dict(stored.get(r.get("id"), {}), **r) if isinstance(r, dict) else r
        for r in (data.get("items") if isinstance(data.get("items"), list) else list(view.data.get("items") or []))
    ]
    return dict(data, items=rows)


def typed_page_data(view: TaskView, typed) -> dict:
    """The task page as it was typed when an upload from it was refused (``typed``: the form's fields,
    a multi-dict), over the items as stored."""
    return typed_over_stored(view, forms.parse_submission(view.schema, typed))


_EVIDENCE_FIELD = re.compile(r"items\[(\d{1,3})\]\[evidence\]")


def evidence_row(field: str) -> int | None:
    """The item row an evidence field of the task form names (``items[2][evidence]`` → 2)."""
    match = _EVIDENCE_FIELD.fullmatch(field or "")
    return int(match.group(1)) if match else None


def attach_evidence(task_id: int, user: User, form, field: str, upload: tuple[BinaryIO, str] | None) -> Evidence:
    """A photo or file attached to one item from the task form (``field``, ``items[i][evidence]``): who
    is asking is checked first (403/404 as raised), then the file goes through the evidence service (its
    checks: who may, content sniffed, size, name, sha256), is added to the item's evidence, and the form
    as typed (over the items as stored) is kept as the task's draft. A refusal (422, 413…) names the
    item's evidence field in its details, nothing stored."""
    task_view = view(task_id, user)
    data = typed_over_stored(task_view, forms.parse_submission(task_view.schema, form))
    rows = data["items"]
    index = evidence_row(field)
    try:
        if upload is None or index is None or index >= len(rows):
            vi, en = "Chụp ảnh hoặc chọn tệp minh chứng trước khi tải lên.", "Take a photo or choose a file first."
            raise Invalid(vi, en, [{"field": field or "items", "message": vi, "message_en": en}])
        row = rows[index] if isinstance(rows[index], dict) else {}
        item_id = row.get("id") if isinstance(row.get("id"), int) else None
        stream, filename = upload
        added = evidence.add_file(task_view.task.instance_id, user, stream, filename, item_id=item_id)
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        log.info("evidence refused on task %s: %s", task_id, exc.message_en)
        # said next to the item's evidence field on the form (the evidence service names "file")
        exc.details = [
            dict(d, field=d.get("field") if d.get("field") not in (None, "file") else field or "items")
            for d in exc.details
            if isinstance(d, dict)
        ] or [{"field": field or "items", "message": exc.message, "message_en": exc.message_en}]
        raise
    rows[index] = dict(row, evidence=[e for e in row.get("evidence") or [] if isinstance(e, int)] + [added.id])
    save_draft(task_id, user, data)
    log.info("evidence %s attached to task %s item %s", added.id, task_id, item_id)
    return added


def _prefill_scores(steps: dict[str, process_steps.StepInfo], step: str, context: dict) -> dict:
    """A scoring step starts from the scoring step before it: the manager from the self-evaluation, an
    amendment from the review. A manager's review starts with the month's working days as the days
    worked (most people work them all)."""
    out = {}
    info = steps.get(step)
    working_days = context.get("working_days")
    if info is not None and info.status == "review" and isinstance(working_days, int) and working_days > 0:
        out["days_worked"] = working_days
    source = prefill_source(steps, step, context)
    if source is None:
        return out
    return {**out, **{k: source[k] for k in ("scores", "bonus", "bonus_reason", "deductions") if k in source}}


def prefill(steps: dict[str, process_steps.StepInfo], step: str, context: dict) -> dict:
    """What a step's form starts with when nothing was saved yet (the inbox's bulk review submits it)."""
    return _prefill_scores(steps, step, context)


def form_context(data: dict) -> dict:
    """Task data plus what forms derive from it: the levels a decider may choose."""
    context = dict(data)
    result = data.get("result")
    if isinstance(result, dict) and result.get("level") in levels.LEVELS:
        context["allowed_levels"] = levels.allowed_decision_levels(result, objective_cause_confirmed=True)
    return context


def _check_decision(data: dict, context: dict) -> None:
    """Raising a level back over the attendance cap needs the objective cause confirmed."""
    result = context.get("result")
    if not data.get("level") or not isinstance(result, dict):
        return
    confirmed = bool(data.get("objective_cause_confirmed"))
    if data["level"] not in levels.allowed_decision_levels(result, confirmed):
        raise Invalid(
            "Mức xếp loại cao hơn mức quy định cho phép.",
            "The level is above what the rules allow.",
            [
                {
                    "field": "objective_cause_confirmed",
                    "message": "Chỉ được giữ mức theo kết quả công việc khi xác nhận nguyên nhân khách quan.",
                    "message_en": "Keeping the level the work deserves needs the objective cause confirmed.",
                }
            ],
        )


# Parsed forms per (process version, file), with the context values each reads: a published version
# never changes, so its forms are parsed and checked once per process, not on every page and submit.
_parsed_forms: dict[tuple[int, str, str], tuple[dict, tuple[str, ...]]] = {}
# Expanded forms per (version, file, the values its expansion reads): a city's tasks share a few schemes,
# levels and months, and a lookup costs less than the deep copy of an expansion. What is handed out is
# shared: no caller changes an expanded schema (they build new dicts; tests/test_forms.py pins it).
_expanded: OrderedDict[tuple, dict] = OrderedDict()
_EXPANDED_KEPT = 512
_expanded_lock = threading.Lock()


def form_schema(instance, form_file: str | None, context: dict, step: str | None = None) -> dict:
    if not form_file:
        return {"type": "object", "properties": {}}
    context = plans.form_context(instance, step, context)
    key = (instance.version_id, instance.version.sha256, form_file)  # ids restart in a wiped test database
    found = _parsed_forms.get(key)
    if found is None:
        parsed = forms.load_form(instances.version_files(instance), form_file)
        found = _parsed_forms[key] = (parsed, tuple(sorted(forms.context_keys(parsed))))
    parsed, reads = found
    expanded_key = key + (json.dumps([context.get(name) for name in reads], sort_keys=True, default=str),)
    schema = _expanded.get(expanded_key)
    if schema is None:
        schema = forms.expand(parsed, context)
        with _expanded_lock:
            _expanded[expanded_key] = schema
            if len(_expanded) > _EXPANDED_KEPT:
                _expanded.popitem(last=False)
    schema = _without_spent_return(schema, context)
    info = process_steps.of(instance.version).get(step or "")  # the instance's own version says
    return plans.decision_fields(instance, schema) if info is not None and info.decides else schema


def _without_spent_return(schema: dict, context: dict) -> dict:
    """A review may return the record for revision once (the process ignores a second return): once
    spent, the form no longer offers it, so a manager is never told "returned" when nothing was, and the
    days worked a completed review needs are asked for."""
    count = context.get("revision_count")
    props = schema.get("properties") or {}
    if not (isinstance(count, int) and count >= 1 and "return_for_revision" in props):
        return schema
    schema = dict(
        schema, properties={k: v for k, v in props.items() if k not in ("return_for_revision", "revision_note")}
    )
    return schema


def complete(task_id: int, user: User, data: dict, *, quota_checked: bool = False) -> HumanTask:
    """Validate `data` against the task's form and complete it, as one unit of work: a refusal
    leaves the transaction to be rolled back (quota_checked when the caller, a batch decision,
    checked the quota for all of its tasks at once)."""
    return _complete(task_id, user, lambda schema: data if isinstance(data, dict) else {}, quota_checked=quota_checked)[
        0
    ]


def complete_with_open(task_id: int, user: User, data: dict) -> tuple[HumanTask, list[HumanTask]]:
    """`complete`, and the instance's open tasks after it as the completion projected them (the API's
    answer lists them without reading them back)."""
    task, _, open_tasks = _complete(task_id, user, lambda schema: data if isinstance(data, dict) else {})
    return task, open_tasks


@dataclass
class Submitted:
    """What the task page needs after a submit: the task, the data as typed, and on a refusal the
    error and the page to show again (built from the workflow the submit loaded)."""

    task: HumanTask
    data: dict
    error: Invalid | None = None
    view: TaskView | None = None


def submit_page(task_id: int, user: User, form) -> Submitted:
    """The HTML form of a task, parsed with the task's own schema and completed in one unit of
    work: the workflow is loaded and the schema expanded once; the page is built only when the
    submit is refused (a successful one redirects)."""
    holder: dict = {}

    def parse(schema: dict) -> dict:
        holder["data"] = forms.parse_submission(schema, form)
        return holder["data"]

    try:
        task = _complete(task_id, user, parse, holder=holder)[0]
    except Invalid as exc:
        if "view" not in holder:
            raise
        return Submitted(holder["view"].task, holder.get("data", {}), exc, holder["view"])
    return Submitted(task, holder.get("data", {}))


def _complete(
    task_id: int, user: User, parse, *, quota_checked: bool = False, holder: dict | None = None
) -> tuple[HumanTask, dict, list[HumanTask]]:
    # the instance is locked and the task read with it, fresh, in one statement: who may complete it is
    # decided on the row as it is under the lock
    with (
        plans.read_once(),
        unit_of_work.edit(
            None, user, "task_completed", of_task=task_id, not_waiting=(CONFLICT_VI, CONFLICT_EN)
        ) as change,
    ):
        instance = change.instance
        task, drafted = next((row, drafted) for row, drafted in change.tasks if row.id == task_id)
        # the task holds its instance for the caller's response: the session keeps objects only while
        # something refers to them, and set as loaded, not as a change, it makes no later query flush
        set_committed_value(task, "instance", instance)
        principal = check_assignee(task, user)
        if task.subject_id == user.id and task.lane_role != "subject":
            raise Forbidden(
                "Không ai được tự chấm hoặc tự quyết định kết quả của chính mình.",
                "Nobody may review or decide their own evaluation.",
            )
        if task.status != TASK_READY:
            raise Conflict(CONFLICT_VI, CONFLICT_EN)
        workflow = change.workflow
        ready = next((t for t in workflow.ready_tasks() if t.uuid == task.task_uuid), None)
        if ready is None:
            raise Conflict(CONFLICT_VI, CONFLICT_EN)
        schema = form_schema(instance, task.form, form_context(ready.data), task.step)
        ran = False
        try:
            data = parse(schema)
            clean = forms.strip_readonly(schema, data)
            errors = forms.validate(schema, clean)
            if errors:
                raise Invalid(
                    "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
                    "The data is not valid; see the error next to each field.",
                    field_details(errors),
                )
            info = process_steps.of_loaded(workflow.loaded).get(task.step)
            if info is not None and info.decides:
                _check_decision(clean, ready.data)
            if drafted:  # before anything is dirty: the DELETE flushes nothing
                db.session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id))
            clean = plans.on_complete(instance, task.step, user, ready.data, data, clean)
            workflow.complete(task.task_uuid, clean)
            ran = True
            quota.enforce_completion(instance, workflow, task.step, skip=quota_checked)
        except Invalid:
            if holder is not None:  # the page again, from the workflow as it was before this submit
                holder["view"] = _view(task, instance, instances.load(instance) if ran else workflow, drafted)
            raise
        change.mark_done(task, user, principal)
        change.audit_with_save("task_completed", step=task.step, on_behalf_of=principal, details={"data": clean})
        change.save()
        metrics.COMPLETIONS.labels(task.step).inc()
    return task, clean, change.open_tasks or []
