"""The monthly result list of a unit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import EvaluationRecord, User

from app.services.evaluation.cycles import check_period, unit_by_code


def monthly(unit_code: str, period: str, visible_unit_ids: set[int] | None) -> dict:
    check_period(period)
    unit = unit_by_code(unit_code)
    ids = set(unit.subtree_ids())
    if visible_unit_ids is not None:
        ids &= visible_unit_ids
    records = db.session.scalars(
        select(EvaluationRecord)
        .options(joinedload(EvaluationRecord.subject), joinedload(EvaluationRecord.unit))
        .where(EvaluationRecord.unit_id.in_(ids or {-1}), EvaluationRecord.period == period)
        .join(User, User.id == EvaluationRecord.subject_id)
        .order_by(EvaluationRecord.unit_id, User.full_name)
    ).all()
    counts = {"A": 0, "B": 0, "C": 0, "D": 0, "none": 0}
    rows = []
    for r in records:
        final = r.level if r.published_at else None
        counts[final or "none"] += 1
        rows.append(
            {
                "instance_id": r.instance_id,
                "username": r.subject.username,
                "full_name": r.subject.full_name,
                "unit": r.unit.code,
                "status": r.status,
                "self_total": r.self_total,
                "total": r.total,
                "level": final,
                "proposed_level": r.proposed_level,
                "appealed": r.appealed,
                "self_evaluation_missed": r.self_evaluation_missed,
            }
        )
    return {"unit": unit.code, "period": period, "counts": counts, "rows": rows}
