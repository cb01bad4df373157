"""The decider's batch decision for an agency and month, with the quota check (DOMAIN.md §4.4)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask, Scheme, User
from app.rules import levels
from app.rules import schemes as defaults

from . import audit, authority, tasks
from .cycles import check_period, unit_by_code
from .errors import BadRequest, Conflict, Forbidden, Invalid


# The decider's own scoring before the decision: people whose direct manager is the decider (they skip
# the manager's review) and reviews escalated past their deadline.
SCORING_STEP = "review_by_decider"


def pending(user: User, period: str | None = None, step: str = "decision") -> list[HumanTask]:
    """The user's ready tasks of `step` (theirs or their principals'), never about themself."""
    assignees = [user.id] + [p.id for p in authority.principals_of(user)]
    query = select(HumanTask).where(HumanTask.assignee_id.in_(assignees), HumanTask.status == "ready",
                                    HumanTask.step == step, HumanTask.subject_id != user.id)
    if period:
        query = query.where(HumanTask.period == period)
    return db.session.scalars(query.order_by(HumanTask.agency_id, HumanTask.unit_id, HumanTask.id)).all()


def to_score(user: User, period: str | None = None) -> list[HumanTask]:
    return pending(user, period, SCORING_STEP)


def quota_status(agency_id: int, period: str, chosen: dict[int, str], exceptional: bool) -> dict:
    """Counts if the batch is applied: decided records keep their level, the batch's records take
    the chosen one, undecided records count as not A (and not B)."""
    return _status(*_quota_inputs(agency_id, period, chosen), exceptional)


def live_quota(agency_id: int, period: str, chosen: dict[int, str]) -> dict:
    """What the decision page needs to keep its quota counter live while the head changes levels:
    the status of the batch as proposed (normal and exceptional month), the quota rule and shares,
    and the A's and B's of the agency-month outside the batch (records decided before keep their
    level), so that the browser counts exactly as `quota_status` will when the form is sent."""
    evaluated, final, quota = _quota_inputs(agency_id, period, chosen)
    status = _status(evaluated, final, quota, False)
    outside = [lv for instance_id, lv in final.items() if instance_id not in chosen]
    status.update({
        "share": quota["share"], "exceptional_share": quota["exceptional_share"],
        "cap_exceptional": levels.quota_cap(quota, evaluated, status["count_b"], True),
        "others_a": outside.count("A"), "others_b": outside.count("B"),
    })
    return status


def _status(evaluated: int, final: dict, quota: dict, exceptional: bool) -> dict:
    count_a = sum(1 for lv in final.values() if lv == "A")
    count_b = sum(1 for lv in final.values() if lv == "B")
    cap = levels.quota_cap(quota, evaluated, count_b, exceptional)
    status = {"evaluated": evaluated, "count_a": count_a, "count_b": count_b, "cap": cap,
              "rule": quota["rule"], "exceeded": count_a > cap}
    status["basis"] = _quota_basis(status, exceptional)
    return status


def _quota_inputs(agency_id: int, period: str, chosen: dict[int, str]) -> tuple[int, dict, dict]:
    """(people evaluated, level of each record if the batch is applied, the quota definition)."""
    records = db.session.execute(select(EvaluationRecord.instance_id, EvaluationRecord.level,
                                        EvaluationRecord.published_at, EvaluationRecord.scheme_id).where(
        EvaluationRecord.agency_id == agency_id, EvaluationRecord.period == period,
        EvaluationRecord.status != "not_evaluated")).all()
    final = {}
    for instance_id, level, published_at, _ in records:
        final[instance_id] = chosen.get(instance_id) or (level if published_at else None)
    scheme_ids = {r.scheme_id for r in records if r.instance_id in chosen} or {r.scheme_id for r in records}
    scheme = db.session.get(Scheme, next(iter(scheme_ids))) if scheme_ids and None not in scheme_ids else None
    quota = scheme.definition["quota"] if scheme else defaults.QUOTA_HANOI
    return len(records), final, quota


def decide(user: User, unit_code: str, period: str, items: list[dict],
           exceptional_reason: str | None = None) -> dict:
    check_period(period)
    agency = unit_by_code(unit_code)
    if not isinstance(items, list) or not items:
        raise BadRequest("Chưa chọn hồ sơ nào để quyết định.", "No items to decide.")
    rows = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("instance_id"), int):
            raise BadRequest("Mỗi mục cần instance_id là số nguyên.", "Each item needs an integer instance_id.")
        task = db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == item["instance_id"], HumanTask.step == "decision",
            HumanTask.status == "ready")).first()
        if task is None:
            raise Conflict(f"Hồ sơ #{item['instance_id']} không ở bước chờ quyết định.",
                           f"Evaluation #{item['instance_id']} is not waiting for a decision.")
        if authority.acting_for(user, task.assignee_id) is False:
            raise Forbidden(f"Anh/chị không có thẩm quyền quyết định hồ sơ #{item['instance_id']}.",
                            f"You may not decide evaluation #{item['instance_id']}.")
        if task.agency_id != agency.id:
            raise BadRequest(f"Hồ sơ #{item['instance_id']} không thuộc đơn vị {agency.code}.",
                             f"Evaluation #{item['instance_id']} is not in unit {agency.code}.")
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.instance_id == task.instance_id)).one()
        rows.append((item, task, record))
    chosen = {record.instance_id: item.get("level") or record.level for item, _, record in rows}
    exceptional = bool((exceptional_reason or "").strip())
    quota = quota_status(agency.id, period, chosen, exceptional)
    if quota["exceeded"]:
        raise Invalid(
            f"Vượt tỷ lệ loại A: {quota['count_a']} người loại A, tối đa {quota['cap']} "
            f"({quota['basis']}). Hãy hạ loại một số người (ghi rõ lý do)"
            f"{'' if quota['rule'] == 'share_of_b' else ' hoặc đánh dấu tháng đặc biệt'}.",
            f"Quota exceeded: {quota['count_a']} A's, at most {quota['cap']} allowed.",
            [{"field": "items", "count": quota["count_a"], "cap": quota["cap"],
              "message": f"{quota['count_a']} > {quota['cap']}", "message_en": f"{quota['count_a']} > {quota['cap']}"}])
    decided = []
    for item, task, _ in rows:  # one transaction: any refusal leaves every record as it was
        form = {k: item[k] for k in ("level", "reason") if item.get(k) not in (None, "")}
        tasks.complete(task.id, user, form, commit=False)
        decided.append(task.instance_id)
    audit.record("batch_decided", actor=user, details={
        "unit": agency.code, "period": period, "instances": decided, "quota": quota,
        "exceptional_reason": (exceptional_reason or "").strip() or None})
    db.session.commit()
    return {"decided": decided, "quota": quota}


def _quota_basis(quota: dict, exceptional: bool) -> str:
    if quota["rule"] == "share_of_b":
        return f"20% của {quota['count_b']} người loại B"
    return f"{'40' if exceptional else '30'}% của {quota['evaluated']} người"
