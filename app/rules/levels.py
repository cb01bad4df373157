"""Levels (xếp loại) and the rules on top of the score, in the order they apply (docs/domain.md, "Levels";
the quota: docs/regulation.md)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

LEVELS = ("A", "B", "C", "D")
LEVEL_NAMES = {
    "A": "Hoàn thành xuất sắc nhiệm vụ",
    "B": "Hoàn thành tốt nhiệm vụ",
    "C": "Hoàn thành nhiệm vụ",
    "D": "Không hoàn thành nhiệm vụ",
}
LEVEL_NAMES_EN = {
    "A": "Excellently completed duties",
    "B": "Well completed duties",
    "C": "Completed duties",
    "D": "Did not complete duties",
}


def rank(level: str) -> int:
    """Lower is better: A=0 ... D=3."""
    return LEVELS.index(level)


# The lowest total of each level under the shipped classification.dmn. A process version may publish
# another table: callers pass that version's thresholds (app.engine.classification.thresholds) as data;
# this default only serves code without a version (tests hold it to the shipped DMN).
LEVEL_MIN_TOTAL = {"A": 90, "B": 70, "C": 50, "D": 0}
ATTENDANCE_CAP = "C"  # at most this level for 50 % of the working days or fewer
ATTENDANCE_SHARE = 50


def level_for_total(total: float | Fraction, thresholds: Mapping[str, float] | None = None) -> str:
    """The best level whose lowest total `total` reaches under `thresholds` (level → lowest total; a
    level the version never gives is absent), the shipped scale when none is given."""
    scale = LEVEL_MIN_TOTAL if thresholds is None else thresholds
    return next((lv for lv in LEVELS if lv in scale and total >= scale[lv]), LEVELS[-1])


def min_total(level: str, thresholds: Mapping[str, float] | None = None) -> float | None:
    """The total a level needs at least (from the score alone); None when the scale never gives it."""
    scale = LEVEL_MIN_TOTAL if thresholds is None else thresholds
    return scale.get(level)


def apply_level_rules(
    score_level: str, total: float, review: dict[str, Any] | None, working_days: int
) -> dict[str, Any]:
    """The level the rules allow, with each applied rule recorded.

    `score_level` comes from the classification DMN; `review` holds days_worked, discipline
    and objective_cause as the manager entered them.
    """
    review = review or {}
    level = score_level
    # `reason` is the Vietnamese text kept with the record; pages, notices and the sheet say it in the
    # reader's language from the structured fields (app.services.evaluation.why).
    rules: list[dict[str, Any]] = [
        {"rule": "score", "level": score_level, "total": total, "reason": f"Tổng điểm {total:g} → loại {score_level}"}
    ]
    days_worked = review.get("days_worked")
    if (
        days_worked is not None
        and working_days
        and days_worked * 2 <= working_days
        and rank(level) < rank(ATTENDANCE_CAP)
    ):
        level = ATTENDANCE_CAP
        rules.append(
            {
                "rule": "attendance",
                "level": ATTENDANCE_CAP,
                "days_worked": days_worked,
                "working_days": working_days,
                "reason": f"Làm việc {days_worked:g}/{working_days} ngày (≤ 50%): tối đa loại C",
            }
        )
    if review.get("discipline"):
        level = "D"
        rules.append(
            {"rule": "discipline", "level": "D", "reason": "Bị kỷ luật từ khiển trách trở lên trong tháng: loại D"}
        )
    if review.get("objective_cause"):
        rules.append(
            {
                "rule": "objective_cause",
                "level": level,
                "cause": review["objective_cause"],
                "reason": f"Nguyên nhân khách quan: {review['objective_cause']}",
            }
        )
    return {"total": total, "level": level, "rules_applied": rules}


def score_level_of(result: dict[str, Any]) -> str:
    """The level the total alone gives (before attendance and discipline)."""
    level: str = next((r["level"] for r in result.get("rules_applied", []) if r["rule"] == "score"), result["level"])
    return level


def ceiling(result: dict[str, Any], objective_cause_confirmed: bool = False) -> str:
    """The best level the decider may give. With an objective cause confirmed, the attendance cap
    may be lifted back to the level the work deserves; discipline always stands."""
    rules = {r["rule"] for r in result.get("rules_applied", [])}
    top: str = result["level"]
    if objective_cause_confirmed and "objective_cause" in rules and "discipline" not in rules:
        top = score_level_of(result)
    plan = plan_cause(result)
    if objective_cause_confirmed and plan is not None and "discipline" not in rules:
        # the work plan's objective causes waive deductions: the level of the total once confirmed
        candidate = str(plan["score_level"] if "objective_cause" in rules else plan["level"])
        top = min(top, candidate, key=rank)
    return top


def plan_cause(result: dict[str, Any]) -> dict[str, Any] | None:
    """The work plan's pending objective-cause rule (app/rules/kpi.plan_rules), if any."""
    return next((r for r in result.get("rules_applied", []) if r.get("rule") == "plan_objective_cause"), None)


def allowed_decision_levels(result: dict[str, Any], objective_cause_confirmed: bool = False) -> list[str]:
    """The decider may keep the level or lower it (e.g. to meet the quota), never raise it."""
    top = ceiling(result, objective_cause_confirmed)
    return [lv for lv in LEVELS if rank(lv) >= rank(top)]


def default_level(result: dict[str, Any], objective_cause_confirmed: bool = False) -> str:
    """The level a decision that names none gives: the rules' level, or, once the decider confirms the
    work plan's objective causes, the level of the total computed with them (within the attendance cap
    and discipline as they stand)."""
    level: str = result["level"]
    plan = plan_cause(result)
    if objective_cause_confirmed and plan is not None and plan.get("level") in LEVELS:
        return min(level, str(plan["level"]), key=rank)
    return level


def finalize_level(result: dict[str, Any], decision: dict[str, Any] | None) -> dict[str, Any]:
    """Apply the decider's choice; a level above what the rules allow is refused, not clamped."""
    decision = decision or {}
    confirmed = bool(decision.get("objective_cause_confirmed"))
    rescore = decision.get("rescore")
    if isinstance(rescore, dict) and rescore.get("level") in LEVELS:
        # the head's batch re-evaluated a leader's unit results: the points and the level follow
        # the re-evaluation counted the confirmed objective causes already: the review's estimate goes
        kept = [r for r in result.get("rules_applied", []) if r.get("rule") != "plan_objective_cause"]
        result = dict(
            result,
            total=rescore["total"],
            level=rescore["level"],
            scores=rescore.get("scores"),
            kpi=rescore.get("kpi"),
            rules_applied=kept
            + [{"rule": "unit_results", "level": rescore["level"], "reason": rescore.get("reason", "")}],
        )
        result["rules_applied"] = [r for r in result["rules_applied"] if r.get("rule") != "score"] + [
            {
                "rule": "score",
                "level": rescore.get("score_level", rescore["level"]),
                "reason": f"Tổng điểm {rescore['total']:g} → loại {rescore.get('score_level', rescore['level'])}",
            }
        ]
    chosen = decision.get("level") or default_level(result, confirmed)
    if chosen not in allowed_decision_levels(result, confirmed):
        raise ValueError(f"level {chosen} is above what the rules allow ({result['level']})")
    final = dict(result, rules_applied=list(result.get("rules_applied", [])))
    plan = plan_cause(result)
    if confirmed and plan is not None:
        # the decider confirmed the objective causes: the points computed with them stand
        final["total"], final["scores"] = plan["total"], plan.get("scores")
        if plan.get("kpi") is not None:
            final["kpi"] = plan["kpi"]
        final["rules_applied"].append(
            {
                "rule": "plan_objective_cause_confirmed",
                "level": chosen,
                "reason": f"Thủ trưởng xác nhận nguyên nhân khách quan: {plan['total']:g} điểm",
            }
        )
    if chosen != result["level"]:
        final["level"] = chosen
        rule = "objective_cause_confirmed" if rank(chosen) < rank(result["level"]) else "decision"
        final["rules_applied"].append({"rule": rule, "level": chosen, "reason": decision.get("reason") or ""})
    return final


def quota_cap(quota: dict[str, Any], evaluated: int, count_b: int, exceptional: bool = False) -> int:
    """Most A's allowed in an agency-month (floor of the share): a share of the people
    evaluated (Hà Nội: 30 %, 40 % in an exceptional month) or, under Decree 335, of those rated B."""
    share = quota["exceptional_share"] if exceptional else quota["share"]
    base = count_b if quota["rule"] == "share_of_b" else evaluated
    return int(base * share + 1e-9)


def quota_counts(final: Mapping[int, str | None], quota: dict[str, Any], exceptional: bool = False) -> dict[str, Any]:
    """The agency-month's counts: `final` holds the level of every record evaluated in it (None while
    undecided, which counts as neither A nor B)."""
    count_a = sum(1 for lv in final.values() if lv == "A")
    count_b = sum(1 for lv in final.values() if lv == "B")
    evaluated = len(final)
    return {
        "evaluated": evaluated,
        "count_a": count_a,
        "count_b": count_b,
        "rule": quota["rule"],
        "cap": quota_cap(quota, evaluated, count_b, exceptional),
    }


def quota_violation(
    current: Mapping[int, str | None],
    change: Mapping[int, str | None],
    quota: dict[str, Any],
    exceptional: bool = False,
) -> dict[str, Any] | None:
    """The counts if `change` (record → its new level) would break the quota, else None.

    `current` is each evaluated record's level as it stands (None while undecided). Only a change that
    adds an A can be refused: one that keeps or lowers levels is always allowed, even in a month already
    over the cap (lowering a B under Decree 335 shrinks the cap, yet must never be blocked by it), so a
    published result is never held hostage by the others."""
    after = quota_counts({**current, **change}, quota, exceptional)
    before_a = sum(1 for lv in current.values() if lv == "A")
    if after["count_a"] <= after["cap"] or after["count_a"] <= before_a:
        return None
    return after
