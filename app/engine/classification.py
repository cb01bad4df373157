"""The classification scale of a process version: the level its own decision table gives a total, and
the lowest total of each level as data (for explanations, estimates and roll-ups).

A designer may publish a version whose table starts B at 85: every level computed outside the running
task (the review's objective-cause estimate, the quarter roll-up, the explanation "A needs 90 points")
must follow that version, not a Python copy of the shipped table. The table is probed once per version
(it is immutable) and the thresholds kept on the cached spec, so lists never evaluate a table per row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow

from app.rules import levels

from . import sandbox
from .specs import LoadedSpec

log = logging.getLogger(__name__)

OUTPUT = "score_level"
# Totals are kept at 0.01 (app.rules.scoring): the scale is probed on that grid, up to the best total.
_STEP = 100
_TOP = 100 * _STEP
_lock = threading.Lock()


class _Input:
    """What a decision table evaluated outside a running task reads: the data and the workflow."""

    def __init__(self, workflow: BpmnWorkflow, data: dict[str, Any]):
        self.workflow, self.data = workflow, data


def _engine(loaded: LoadedSpec, output: str = OUTPUT) -> Any:
    """The DMN engine of the first business rule task whose table outputs `output`, or None."""
    for spec in [loaded.spec, *loaded.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if engine is not None and output in [o.name for o in engine.decision_table.outputs]:
                return engine
    return None


def decide(loaded: LoadedSpec, workflow: BpmnWorkflow, total: float, output: str = OUTPUT) -> str | None:
    """The level the version's table gives `total`, evaluated with `workflow`'s script engine; None
    when the version has no such table or no rule matches."""
    engine = _engine(loaded, output)
    if engine is None:
        return None
    value = engine.result(_Input(workflow, {"total": total})).get(output)
    return str(value) if value is not None else None


def _probe(loaded: LoadedSpec) -> dict[str, float] | None:
    """The lowest total (at 0.01) of each level the table can give, assuming better totals never get a
    worse level (what a classification means); None when the version has no usable table."""
    if _engine(loaded) is None:
        return None
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
    sandbox.attach(workflow)
    memo: dict[int, int] = {}

    def rank_at(hundredths: int) -> int:
        if hundredths not in memo:
            level = decide(loaded, workflow, hundredths / _STEP)
            memo[hundredths] = levels.rank(level) if level in levels.LEVELS else len(levels.LEVELS)
        return memo[hundredths]

    if rank_at(0) != len(levels.LEVELS) - 1:
        return None  # the lowest total must get the lowest level, or the table is not a scale
    out: dict[str, float] = {levels.LEVELS[-1]: 0}
    for level in levels.LEVELS[:-1]:
        wanted = levels.rank(level)
        if rank_at(_TOP) > wanted:
            continue  # the version never gives this level
        low, high = 0, _TOP
        while low < high:
            mid = (low + high) // 2
            if rank_at(mid) <= wanted:
                high = mid
            else:
                low = mid + 1
        out[level] = low / _STEP if low % _STEP else low // _STEP
    return out


def thresholds(loaded: LoadedSpec) -> Mapping[str, float]:
    """The lowest total of each level under this version's table (cached on the version's spec). A
    version without a classification table keeps the shipped scale."""
    found = loaded.level_thresholds
    if found is None:
        with _lock:
            found = loaded.level_thresholds
            if found is None:
                probed = _probe(loaded)
                if probed is None:
                    log.warning(
                        "version %s has no usable classification table: the shipped scale applies", loaded.version_id
                    )
                found = probed or dict(levels.LEVEL_MIN_TOTAL)
                loaded.level_thresholds = found
    return found


def level_for(loaded: LoadedSpec, total: float) -> str:
    """The level this version gives a total (exact: a roll-up's mean of 89.995 is not rounded up)."""
    return levels.level_for_total(total, thresholds(loaded))


def thresholds_default() -> Mapping[str, float]:
    """The shipped scale, for a record whose version is gone."""
    return dict(levels.LEVEL_MIN_TOTAL)
