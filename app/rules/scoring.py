"""Totals of a scored form: min(100, criteria + bonus - deductions), never below 0, at 0.01.

Neither Quyết định 3814 nor Decree 335 rounds the total: the levels are "from 90 points", "from 70 to
under 90"... of the total as it is. Criterion points computed from the work plan are at 0.01, so the
total is kept at 0.01 too; rounding it to the half point would lift 89.76 to 90, a level the rules do
not give (docs/domain.md, "Criteria and schemes")."""

from __future__ import annotations

from typing import Any

MAX_TOTAL = 100.0


def score_total(form: dict[str, Any] | None, criteria: list[dict[str, Any]]) -> float | None:
    """Total of a self-evaluation, review or amendment form; None when nothing was scored."""
    if not form or not isinstance(form.get("scores"), dict):
        return None
    scores = form["scores"]
    subtotal = 0.0
    for criterion in criteria:
        value = float(scores.get(criterion["code"]) or 0)
        subtotal += min(max(value, 0.0), float(criterion["max"]))
    bonus = float(form.get("bonus") or 0)
    deductions = sum(float(d.get("points") or 0) for d in form.get("deductions") or [])
    total = min(MAX_TOTAL, subtotal + bonus - deductions)
    return max(0.0, round(total + 1e-9, 2))
