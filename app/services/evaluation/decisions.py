"""The decider's batch decision for an agency and month, with the quota check (docs/regulation.md)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask, User
from app.models.workflow import TASK_READY
from app.rules import levels

from app.services import audit
from . import plans, quota, tasks
from app.services.organisation import authority
from . import steps as process_steps
from .cycles import check_period, unit_by_code
from app.services.errors import BadRequest, Conflict, Forbidden, Invalid

log = logging.getLogger(__name__)


def pending(user: User, period: str | None = None, step_ids: list[str] | None = None) -> list[HumanTask]:
    """The user's ready tasks of the steps (default: the deciding ones; theirs or their principals'),
    never about themself."""
    assignees = [user.id] + [p.id for p in authority.principals_of(user)]
    step_ids = process_steps.deciding() if step_ids is None else step_ids
    query = select(HumanTask).where(
        HumanTask.assignee_id.in_(assignees),
        HumanTask.status == TASK_READY,
        HumanTask.step.in_(step_ids),
        HumanTask.subject_id != user.id,
    )
    if period:
        query = query.where(HumanTask.period == period)
    # a stable order a head can find people in: by unit, then name (the instance breaks ties, never
    # the task id, which changes when a task is handed back and forth)
    query = query.join(User, User.id == HumanTask.subject_id)
    return db.session.scalars(
        query.order_by(HumanTask.agency_id, HumanTask.unit_id, User.full_name, HumanTask.instance_id)
    ).all()


def to_score(user: User, period: str | None = None) -> list[HumanTask]:
    """The head's own scoring before the decision: people whose direct manager is the head (they skip
    the manager's review) and reviews escalated past their deadline."""
    return pending(user, period, process_steps.decider_scoring())


def scored_for_decision(task: HumanTask) -> bool:
    """Is this the head's scoring ahead of a decision (the page goes back to the batch after it)?"""
    info = process_steps.of(task.instance.version).get(task.step)  # the task's own version says
    return info is not None and process_steps.is_decider_scoring(info)


def quota_status(agency_id: int, period: str, chosen: dict[int, str], exceptional: bool | None = None) -> dict:
    """Counts if the batch is applied: decided records keep their level, the batch's records take
    the chosen one, undecided records count as not A (and not B). `exceptional` None: as the
    agency-month is marked."""
    return quota.status(agency_id, period, chosen, exceptional)


def live_quota(agency_id: int, period: str, chosen: dict[int, str]) -> dict:
    """What the decision page needs to keep its quota counter live while the head changes levels:
    the status of the batch as proposed (as the month stands: marked exceptional or not), the quota
    rule and shares, the cap of an exceptional month, the marking itself, and the A's and B's of the
    agency-month outside the batch (records decided before keep their level), so that the browser
    counts exactly as `quota.enforce` will when the form is sent."""
    current, rule = quota.current_levels(agency_id, period, chosen)
    month = quota.agency_month(agency_id, period)
    marked = month is not None and month.exceptional
    final = {**current, **chosen}
    status = levels.quota_counts(final, rule, marked)
    status.update(exceeded=status["count_a"] > status["cap"], exceptional=marked, marking=month if marked else None)
    outside = [lv for instance_id, lv in final.items() if instance_id not in chosen]
    status.update(
        {
            "share": rule["share"],
            "exceptional_share": rule["exceptional_share"],
            "cap_exceptional": levels.quota_cap(rule, status["evaluated"], status["count_b"], True),
            "others_a": outside.count("A"),
            "others_b": outside.count("B"),
        }
    )
    return status


def choices(record: EvaluationRecord) -> dict:
    """What the page offers for one record: the levels the head may choose (those above the rules'
    level only with the objective cause confirmed) and the objective cause the manager recorded."""
    result = {"level": record.level, "rules_applied": record.rules_applied or []}
    causes = [
        r.get("reason", "").split(": ", 1)[-1]
        for r in result["rules_applied"]
        if r.get("rule") in ("objective_cause", "plan_objective_cause")
    ]
    return {
        "levels": levels.allowed_decision_levels(result, objective_cause_confirmed=True) if record.level else [],
        "cause": "; ".join(causes) if causes else None,
        "plan": plans.summary(record),
    }


DECISION_FIELDS = ("level", "reason", "objective_cause_confirmed")


def _instance_id(value: object) -> int | None:
    """An item's instance id as the database can take it: JSON's 7.0 is the integer 7 (JSON Schema says
    so too), a boolean is not a number here, and an id beyond PostgreSQL's integer would overflow."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    return None


def decide(user: User, unit_code: str, period: str, items: list[dict], exceptional_reason: str | None = None) -> dict:
    check_period(period)
    agency = unit_by_code(unit_code)
    if exceptional_reason is not None and (not isinstance(exceptional_reason, str) or len(exceptional_reason) > 1000):
        raise Invalid(
            "Lý do tháng đặc biệt phải là văn bản, tối đa 1000 ký tự.",
            "The exceptional-month reason must be text of at most 1000 characters.",
            [
                {
                    "field": "exceptional_reason",
                    "message": "Tối đa 1000 ký tự.",
                    "message_en": "Text, at most 1000 characters.",
                }
            ],
        )
    if not isinstance(items, list) or not items:
        raise BadRequest("Chưa chọn hồ sơ nào để quyết định.", "No items to decide.")
    rows = []
    deciding = process_steps.deciding()
    for item in items:
        instance_id = _instance_id(item.get("instance_id") if isinstance(item, dict) else None)
        if instance_id is None:
            raise BadRequest("Mỗi mục cần instance_id là số nguyên.", "Each item needs an integer instance_id.")
        item = dict(item, instance_id=instance_id)
        task = db.session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == item["instance_id"],
                HumanTask.step.in_(deciding),
                HumanTask.status == TASK_READY,
            )
        ).first()
        if task is None:
            raise Conflict(
                f"Hồ sơ #{item['instance_id']} không ở bước chờ quyết định.",
                f"Evaluation #{item['instance_id']} is not waiting for a decision.",
            )
        if authority.acting_for(user, task.assignee_id) is False:
            raise Forbidden(
                f"Anh/chị không có thẩm quyền quyết định hồ sơ #{item['instance_id']}.",
                f"You may not decide evaluation #{item['instance_id']}.",
            )
        if task.agency_id != agency.id:
            raise BadRequest(
                f"Hồ sơ #{item['instance_id']} không thuộc đơn vị {agency.code}.",
                f"Evaluation #{item['instance_id']} is not in unit {agency.code}.",
            )
        record = db.session.scalars(
            select(EvaluationRecord).where(EvaluationRecord.instance_id == task.instance_id)
        ).one()
        rows.append((item, task, record))
    chosen = {
        record.instance_id: item.get("level")
        or (
            levels.default_level(
                {"level": record.level, "rules_applied": record.rules_applied or []},
                bool(item.get("objective_cause_confirmed")),
            )
            if record.level
            else record.level
        )
        for item, _, record in rows
    }
    chosen = plans.rescore_leaders(rows, chosen)  # a leader's unit results, before the quota
    status = quota.enforce(agency.id, period, chosen, exceptional_reason=exceptional_reason, field="items")
    principal = authority.acting_for(user, rows[0][1].assignee_id) or None
    quota.mark_exceptional(agency.id, period, exceptional_reason, user, principal)
    decided = []
    try:
        for index, (item, task, _) in enumerate(rows):  # one transaction: a refusal rolls every record back
            form = {k: item[k] for k in DECISION_FIELDS if item.get(k) not in (None, "")}
            try:
                tasks.complete(task.id, user, form, quota_checked=True)
            except Invalid as exc:
                # name the row: the page marks the person's field, the API client gets items[i].field
                raise Invalid(
                    exc.message,
                    exc.message_en,
                    [
                        dict(
                            d,
                            field=f"items[{index}].{d.get('field')}" if d.get("field") else f"items[{index}]",
                            instance_id=task.instance_id,
                        )
                        for d in exc.details
                    ],
                ) from exc
            decided.append(task.instance_id)
    finally:
        plans.end_batch()
    audit.record(
        "batch_decided",
        actor=user,
        details={
            "unit": agency.code,
            "period": period,
            "instances": decided,
            "quota": status,
            "exceptional_reason": (exceptional_reason or "").strip() or None,
        },
    )
    log.info("batch decision: unit=%s period=%s decided=%s by=%s", agency.code, period, len(decided), user.username)
    return {"decided": decided, "quota": status}
