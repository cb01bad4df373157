"""What a person reads on their own record: where the month stands (a stepper), whose hands it passed
through (step titles, not step ids), and their last twelve months.

The stepper's stages are the record's statuses in the order a month moves through them; the step
titles come from the process (each human task carries its BPMN name), so a step a designer adds is
named as the designer named it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.i18n import N_
from app.models import EvaluationRecord, HumanTask, ProcessInstance

from . import why

# The stages of a month as its record moves; labels marked for the catalog.
STAGES = [
    ("self_evaluation", N_("Tự đánh giá")),
    ("review", N_("Lãnh đạo chấm điểm")),
    ("decision", N_("Quyết định")),
    ("published", N_("Công bố")),
    ("locked", N_("Chốt")),
]
_ORDER = {status: i for i, (status, _) in enumerate(STAGES)}
_ORDER["appeal"] = _ORDER["published"]  # an appeal is answered inside the published stage
# A month that started with a work plan shows it as a first stage (issue #14).
PLAN_STAGE = ("planning", N_("Kế hoạch"))
PLAN_STATUSES = ("planning", "plan_approval", "in_progress")


@dataclass(frozen=True)
class Stage:
    label: str
    state: str  # "done", "current" or "todo"


def stepper(status: str | None, with_plan: bool = False) -> list[Stage]:
    """The stages with the record's place among them; an off-track status (cancelled, not evaluated,
    error) shows no current stage — the page says so in words. `with_plan`: the month has a work plan."""
    stages = ([PLAN_STAGE] if with_plan else []) + STAGES
    order = {name: i for i, (name, _) in enumerate(stages)}
    order["appeal"] = order["published"]
    order.update({s: order["planning"] for s in PLAN_STATUSES if with_plan})
    at = order.get(status or "")
    out = []
    for i, (_, label) in enumerate(stages):
        if at is None:
            state = "todo"
        elif i < at or (status == "locked" and i == at):
            state = "done"
        else:
            state = "current" if i == at else "todo"
        out.append(Stage(label, state))
    return out


def step_titles(instance: ProcessInstance) -> dict[str, str]:
    """Step id → the title the process gives it (as stored on the instance's tasks)."""
    rows = db.session.execute(select(HumanTask.step, HumanTask.title).where(HumanTask.instance_id == instance.id)).all()
    return {step: title for step, title in rows if title}


def recent_results(subject_id: int, period: str, months: int = 12) -> list[dict]:
    """The person's published results up to `period`, oldest first: period, total and level."""
    rows = db.session.scalars(
        select(EvaluationRecord)
        .where(
            EvaluationRecord.subject_id == subject_id,
            EvaluationRecord.period <= period,
            EvaluationRecord.published_at.is_not(None),
        )
        .order_by(EvaluationRecord.period.desc())
        .limit(months)
    ).all()
    return [{"period": r.period, "total": r.total, "level": r.level} for r in reversed(rows)]


def reasons(instance: ProcessInstance, record: EvaluationRecord, lang: str | None = None) -> list[str]:
    """Why the level is what it is, in the reader's language (app.services.evaluation.why); the workflow is read
    only when an appeal was made (its answer and reason live there)."""
    data = None
    if record.appealed:
        from . import instances

        try:
            data = instances.load(instance).data()
        except Exception:  # a broken snapshot must not hide the result; the rest still says why
            data = None
    return why.texts(why.of_record(record, why.appeal_answer(instance, data), why.quota_of(record)), lang)


def extras(instance: ProcessInstance, record: EvaluationRecord) -> dict:
    from . import plans

    with_plan = record.status in PLAN_STATUSES or bool(plans.items_of(record.instance_id))
    return {
        "stages": stepper(record.status, with_plan),
        "step_titles": step_titles(instance),
        "recent": recent_results(instance.subject_id, instance.period),
        "plan": plans.shown(record),
        "why": reasons(instance, record) if record.level else [],
    }
