"""Task-result points computed from the month's registered work (work plan items), docs/regulation.md.

Decree 335/2025 measures the products of the period on quantity (a), quality (b) and timeliness (c):
each major error costs an item 25 % of its quality, each delay 25 % of its timeliness, unless the
competent level confirms an objective cause. An item not done for a confirmed objective cause leaves
the count; a done item with a confirmed cause keeps its full quality and timeliness.

A scheme's criterion names where its points come from (`source`): typed by the manager (default), one
measure (`plan:quantity`, `plan:quality`, `plan:timeliness`), their mean (`plan:all`), a leader's
components (`unit_results`, `capacity`), or a list of these, whose mean is taken (the Decree 335 leader
formula). Pure functions: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEDUCTION = 0.25  # per major error (quality) or per delay (timeliness)
TYPED = "typed"
PLAN_SOURCES = ("plan:quantity", "plan:quality", "plan:timeliness", "plan:all")
LEADER_SOURCES = ("unit_results", "capacity")
SOURCES = PLAN_SOURCES + LEADER_SOURCES + (TYPED,)
UNIT_FULL, UNIT_HALF = 1.0, 0.5
PASSING_LEVELS = ("A", "B", "C")


def _num(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if out == out and abs(out) != float("inf") else default


def _count(value: Any) -> int:
    return max(0, int(_num(value)))


def cause_applies(item: Mapping[str, Any]) -> bool:
    """An objective cause counts only once the decider confirmed it."""
    return bool(item.get("objective_cause")) and bool(item.get("objective_confirmed"))


def measures(items: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Quantity, quality and timeliness (fractions 0..1) over the counted items, or None when no item
    counts (no items, or every one excused): the month then falls back to typed scores."""
    total_w = done_w = quality = timeliness = 0.0
    counted = excused = 0
    for item in items:
        weight = _num(item.get("weight"), 1.0)
        if weight <= 0:
            continue
        done, excused_item = bool(item.get("done")), cause_applies(item)
        if not done and excused_item:
            excused += 1
            continue
        counted += 1
        total_w += weight
        if not done:
            continue
        done_w += weight
        if excused_item:  # the confirmed cause waives this item's deductions
            quality += weight
            timeliness += weight
        else:
            quality += weight * max(0.0, 1 - DEDUCTION * _count(item.get("major_errors")))
            timeliness += weight * max(0.0, 1 - DEDUCTION * _count(item.get("delays")))
    if total_w <= 0:
        return None
    return {
        "quantity": done_w / total_w,
        "quality": quality / total_w,
        "timeliness": timeliness / total_w,
        "weight": round(total_w, 4),
        "counted": counted,
        "excused": excused,
    }


def percent(fraction: float) -> float:
    return round(fraction * 100, 2)


def source_of(criterion: Mapping[str, Any]) -> str | list[str]:
    source = criterion.get("source") or TYPED
    return list(source) if isinstance(source, (list, tuple)) else str(source)


def is_computed(criterion: Mapping[str, Any]) -> bool:
    return source_of(criterion) != TYPED


def uses_plan(criterion: Mapping[str, Any]) -> bool:
    source = source_of(criterion)
    parts = source if isinstance(source, list) else [source]
    return any(p in PLAN_SOURCES for p in parts)


def fraction_of(source: str, found: Mapping[str, Any] | None, components: Mapping[str, float]) -> float | None:
    """The fraction one source gives (None when it cannot be computed: no counted items)."""
    if source in LEADER_SOURCES:
        return _num(components.get(source), 1.0)
    if found is None:
        return None
    if source == "plan:all":
        return float(found["quantity"] + found["quality"] + found["timeliness"]) / 3
    if source in PLAN_SOURCES:
        return float(found[source.split(":", 1)[1]])
    raise ValueError(f"unknown source {source!r}")


def criterion_points(
    criteria: Iterable[Mapping[str, Any]],
    found: Mapping[str, Any] | None,
    components: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Points of each computed criterion: maximum × fraction (a list of sources: their mean), rounded
    to 0.01. A criterion that needs the plan is left out when no item counts (typed instead)."""
    components = components or {}
    out: dict[str, float] = {}
    for criterion in criteria:
        source = source_of(criterion)
        if source == TYPED:
            continue
        parts = source if isinstance(source, list) else [source]
        maybe = [fraction_of(p, found, components) for p in parts]
        fractions = [f for f in maybe if f is not None]
        if len(fractions) < len(maybe):
            continue
        mean = sum(fractions) / len(fractions)
        out[str(criterion["code"])] = round(float(criterion["max"]) * min(max(mean, 0.0), 1.0) + 1e-9, 2)
    return out


def unit_results(levels: Iterable[str | None]) -> float:
    """A leader's unit results: 100 % when everyone in the units they lead reached C or above this
    month, 50 % when anyone is at D (people not yet classified do not count)."""
    return UNIT_HALF if any(lv == "D" for lv in levels) else UNIT_FULL


def nd335_staff(a: float, b: float, c: float) -> float:
    """Decree 335, a civil servant without a leadership post: 70 × (a + b + c) / 3 (fractions)."""
    return round(70 * (a + b + c) / 3 + 1e-9, 2)


def nd335_leader(a: float, b: float, c: float, unit: float, capacity: float) -> float:
    """Decree 335, a leader: 70 × the mean of their own a, b, c, their units' results and their
    capacity to organise the work (fractions)."""
    return round(70 * (a + b + c + unit + capacity) / 5 + 1e-9, 2)


def compute(
    items: list[Mapping[str, Any]], criteria: list[Mapping[str, Any]], components: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Everything a record shows about its plan: the measures in percent, the counted weight, each item
    with its deductions, and the points of each computed criterion. `criteria` is empty (fallback) when
    the scheme computes nothing or no item counts."""
    found = measures(items)
    points = criterion_points(criteria, found, components)
    rows = []
    for item in items:
        excused = cause_applies(item)
        done = bool(item.get("done"))
        errors, delays = _count(item.get("major_errors")), _count(item.get("delays"))
        rows.append(
            {
                k: item.get(k)
                for k in (
                    "id",
                    "title",
                    "product",
                    "weight",
                    "deadline",
                    "origin",
                    "done",
                    "completed_on",
                    "objective_cause",
                    "objective_confirmed",
                )
            }
            | {
                "major_errors": errors,
                "delays": delays,
                "counted": not (excused and not done) and _num(item.get("weight"), 1.0) > 0,
                "quality": 0.0 if not done else (1.0 if excused else max(0.0, 1 - DEDUCTION * errors)),
                "timeliness": 0.0 if not done else (1.0 if excused else max(0.0, 1 - DEDUCTION * delays)),
            }
        )
    formula: dict[str, dict[str, Any]] = {}
    for criterion in criteria:
        code = str(criterion["code"])
        if code in points:
            source = source_of(criterion)
            parts = source if isinstance(source, list) else [source]
            known = [f for f in (fraction_of(p, found, components or {}) for p in parts) if f is not None]
            formula[code] = {"max": criterion["max"], "source": source, "percent": percent(sum(known) / len(known))}
    sums = {"weight": 0.0, "done": 0.0, "quality": 0.0, "timeliness": 0.0}
    for row, item in zip(rows, items):
        if row["counted"]:
            w = _num(item.get("weight"), 1.0)
            sums["weight"] += w
            sums["done"] += w if row["done"] else 0.0
            sums["quality"] += w * float(row["quality"] or 0)
            sums["timeliness"] += w * float(row["timeliness"] or 0)
    out: dict[str, Any] = {
        "quantity": None,
        "quality": None,
        "timeliness": None,
        "weight": 0,
        "items": rows,
        "criteria": points,
        "formula": formula,
        "sums": {k: round(v, 4) for k, v in sums.items()},
        "components": {k: percent(_num(v, 1.0)) for k, v in (components or {}).items()},
    }
    if found is not None:
        out.update(
            quantity=percent(found["quantity"]),
            quality=percent(found["quality"]),
            timeliness=percent(found["timeliness"]),
            weight=found["weight"],
        )
    needs_plan = any(uses_plan(c) for c in criteria)
    if needs_plan and found is None:
        out["fallback"] = "no_counted_items"
    return out


def plan_rules(
    result: dict[str, Any],
    review: Mapping[str, Any] | None,
    working_days: int,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The result with what the plan says: its measures (`kpi`), and, when the manager recorded an
    objective cause on an item, the total and level the record would get once the decider confirms it
    (rule `plan_objective_cause`, applied by `levels.finalize_level`). `thresholds` is the process
    version's classification scale (level → lowest total); the estimate must use the same table as
    the score, so the engine passes it in."""
    from . import levels

    review = review or {}
    out = dict(result, rules_applied=list(result.get("rules_applied") or []))
    if isinstance(review.get("kpi"), Mapping):
        out["kpi"] = dict(review["kpi"])
    confirmed = review.get("kpi_confirmed")
    if isinstance(confirmed, Mapping) and confirmed.get("total") is not None:
        total = float(confirmed["total"])
        score_level = levels.level_for_total(total, thresholds)
        capped = levels.apply_level_rules(score_level, total, dict(review), working_days)["level"]
        reasons = "; ".join(str(r) for r in confirmed.get("reasons") or [])
        out["rules_applied"].append(
            {
                "rule": "plan_objective_cause",
                "level": capped,
                "score_level": score_level,
                "total": total,
                "scores": dict(confirmed.get("scores") or {}),
                "kpi": confirmed.get("kpi"),
                "reason": f"Nguyên nhân khách quan của nhiệm vụ (chờ xác nhận): {reasons} "
                f"→ {total:g} điểm, loại {capped}",
            }
        )
    return out


def capped_level(score_level: str, rules_applied: list[Mapping[str, Any]]) -> str:
    """The level of a re-evaluated total (`score_level`, from the process's classification table) under
    the rules already applied to the record (the attendance cap at C, discipline at D)."""
    from . import levels

    level = score_level
    names = {r.get("rule") for r in rules_applied}
    if "attendance" in names and levels.rank(level) < levels.rank("C"):
        level = "C"
    if "discipline" in names:
        level = "D"
    return level
