"""Quarter and year roll-up (tổng hợp; docs/domain.md, "Appeals and the lock").

Per person: the mean of the FINAL monthly totals over the evaluated months of the range. A month counts
when its record is published or locked (`published_at` is set) and is not marked "không đánh giá"
(status `not_evaluated`). The mean is shown rounded to 0.01 but the level comes from the exact mean, with
the monthly thresholds of the process version of the person's latest month in the range (its
classification table, `level_scale`; read once per version, not per row). Per unit (its subtree): the people who have a record
there in the range, each with all their months wherever they were, plus the unit totals.
"""

from __future__ import annotations

import math
import re
import unicodedata
from fractions import Fraction

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, Unit, User
from app.rules.levels import LEVELS, level_for_total

from app.services.regulation import level_scale
from app.services.evaluation.cycles import unit_by_code
from app.services.errors import BadRequest

RANGE_RE = re.compile(r"(\d{4})(?:-[Qq]([1-4]))?")
EXCLUDED_STATUSES = frozenset({"not_evaluated"})


def parse_range(range_text) -> tuple[str, list[str]]:
    """`2030-Q1` → ("2030-Q1", ["2030-01", "2030-02", "2030-03"]); `2030` → the twelve months."""
    match = RANGE_RE.fullmatch(range_text.strip()) if isinstance(range_text, str) else None
    if match is None or int(match.group(1)) < 1:
        raise BadRequest(
            f"Kỳ tổng hợp phải có dạng YYYY-Qn (quý, ví dụ 2030-Q1) hoặc YYYY (năm, ví dụ 2030), "
            f"nhận được: {range_text!r}",
            f"The range must be YYYY-Qn (a quarter, e.g. 2030-Q1) or YYYY (a year, e.g. 2030), got {range_text!r}",
        )
    year = int(match.group(1))
    if match.group(2):
        quarter = int(match.group(2))
        return f"{year:04d}-Q{quarter}", [f"{year:04d}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]
    return f"{year:04d}", [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def _exact(total: float) -> Fraction:
    """The decimal a stored total stands for (89.99 is 8999/100, not the nearest binary float)."""
    return Fraction(repr(float(total)))


def _display(value: Fraction | None) -> float | None:
    """Rounded half up to 0.01 for display."""
    if value is None:
        return None
    return float(Fraction(math.floor(value * 100 + Fraction(1, 2)), 100))


def _name_key(name: str) -> str:
    """Vietnamese names sort on their letters without marks (Đỗ next to Dương, not after Hoàng)."""
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def _mean(values: list[Fraction]) -> Fraction | None:
    return sum(values, Fraction(0)) / len(values) if values else None


def compute(scope_unit_code: str, range_text: str, visible_unit_ids: set[int] | None) -> dict:
    """The roll-up of a unit's subtree over a quarter or a year, as seen by someone who may see
    `visible_unit_ids` (None means everything). Months recorded in units the viewer may not see are
    left out, also from a transferred person's row."""
    range_label, periods = parse_range(range_text)
    unit = unit_by_code(scope_unit_code)
    ids = set(unit.subtree_ids())
    if visible_unit_ids is not None:
        ids &= visible_unit_ids

    rows = []
    if ids:
        in_scope = select(EvaluationRecord.subject_id).where(
            EvaluationRecord.unit_id.in_(ids), EvaluationRecord.period.in_(periods)
        )
        query = (
            select(
                EvaluationRecord.subject_id,
                EvaluationRecord.period,
                EvaluationRecord.status,
                EvaluationRecord.total,
                EvaluationRecord.level,
                EvaluationRecord.published_at,
                EvaluationRecord.unit_id,
                EvaluationRecord.instance_id,
                User.username,
                User.full_name,
                Unit.code,
            )
            .join(User, User.id == EvaluationRecord.subject_id)
            .join(Unit, Unit.id == EvaluationRecord.unit_id)
            .where(EvaluationRecord.period.in_(periods), EvaluationRecord.subject_id.in_(in_scope))
            .order_by(EvaluationRecord.subject_id, EvaluationRecord.period)
        )
        if visible_unit_ids is not None:
            query = query.where(EvaluationRecord.unit_id.in_(visible_unit_ids or {-1}))
        rows = db.session.execute(query).all()

    people: dict[int, dict] = {}
    for row in rows:
        person = people.setdefault(
            row.subject_id,
            {
                "username": row.username,
                "full_name": row.full_name,
                "unit": row.code,
                "months": {},
                "not_evaluated": [],
                "evaluated_months": 0,
                "mean": None,
                "level": None,
                "counts": {lv: 0 for lv in LEVELS},
                "_totals": [],
                "_instance": None,
            },
        )
        person["unit"] = row.code  # rows come by period: the unit of the latest month in the range
        if row.status in EXCLUDED_STATUSES:  # không đánh giá: no total, out of the average
            person["not_evaluated"].append(row.period)
            continue
        if row.published_at is None or row.total is None:
            continue  # not final yet
        person["months"][row.period] = {"total": row.total, "level": row.level, "unit": row.code}
        person["_instance"] = row.instance_id  # rows come by period: the scale of the latest final month
        person["_totals"].append(_exact(row.total))
        if row.level in person["counts"]:
            person["counts"][row.level] += 1

    summary_counts = {lv: 0 for lv in LEVELS} | {"none": 0}
    means = []
    # one query for the versions of the months that set the scale, then one cached scale per version
    scales = level_scale.of_instance_ids({p["_instance"] for p in people.values() if p["_instance"] is not None})
    for person in people.values():
        totals, instance_id = person.pop("_totals"), person.pop("_instance")
        exact = _mean(totals)
        person["evaluated_months"] = len(totals)
        if exact is None:
            summary_counts["none"] += 1
            continue
        person["mean"], person["level"] = _display(exact), level_for_total(exact, scales.get(instance_id))
        summary_counts[person["level"]] += 1
        means.append(exact)

    ordered = sorted(
        people.values(), key=lambda p: (p["unit"], _name_key(p["full_name"]), p["full_name"], p["username"])
    )
    return {
        "unit": unit.code,
        "unit_name": unit.name,
        "range": range_label,
        "periods": periods,
        "people": ordered,
        "summary": {"people": len(ordered), "counts": summary_counts, "mean": _display(_mean(means))},
    }
