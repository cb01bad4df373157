"""Totals of a scored form: min(100, criteria + bonus - deductions), never below 0."""
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
    return max(0.0, round(total * 2) / 2)
