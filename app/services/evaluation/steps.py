"""The steps of the evaluation as the application treats them: which record status each one means, its
number, whether it scores, whether it decides, its short title.

All of it comes from the process itself (each user task's properties, read by app/engine/steps.py once
per process version); nothing here lists step ids. A version published before steps carried
properties borrows them, step by step, from the process shipped in processes/.
"""

from __future__ import annotations

import threading

from flask import current_app, g, has_request_context
from sqlalchemy import select

from app.engine import specs
from app.engine.specs import LoadedSpec
from app.engine.steps import STEP_STATUSES, StepInfo, count
from app.extensions import db
from app.i18n import N_
from app.models import ProcessVersion

__all__ = [
    "STEP_STATUSES",
    "StepInfo",
    "count",
    "of",
    "of_loaded",
    "known",
    "deciding",
    "decider_scoring",
    "number",
    "choices",
]

# The shipped steps' short titles (stepTitle in processes/monthly_evaluation.bpmn), marked so that the
# English catalog translates them; a step a designer adds shows its title as written.
SHIPPED_TITLES = (
    N_("Cá nhân tự đánh giá"),
    N_("Lãnh đạo trực tiếp chấm điểm"),
    N_("Thủ trưởng chấm điểm"),
    N_("Thủ trưởng quyết định"),
    N_("Giải quyết kiến nghị"),
    N_("Cá nhân đăng ký kế hoạch"),
    N_("Lãnh đạo duyệt kế hoạch"),
)

_lock = threading.Lock()
_completed: dict[tuple[int, int], dict[str, StepInfo]] = {}
_shipped: dict[str, dict[str, StepInfo]] = {}
_known: dict[tuple[str, tuple[tuple[int, str], ...]], dict[str, StepInfo]] = {}


def _shipped_steps() -> dict[str, StepInfo]:
    """The steps of the process on disk (processes/ + forms/), read once per process directory."""
    folder = current_app.config["PROCESSES_DIR"]
    if folder not in _shipped:
        from app.services.process_design.versions import files_from_disk

        try:
            spec, subs = specs.parse(files_from_disk())
            steps = specs.loaded_from(spec, subs, {}).steps
        except specs.SpecError:
            steps = {}
        with _lock:
            _shipped[folder] = steps
    return _shipped[folder]


def of_loaded(loaded: LoadedSpec) -> dict[str, StepInfo]:
    """Step id → StepInfo for every user task of a parsed version (its own properties; an older
    version's task without them takes those of the shipped step with the same id, else it counts
    as a step of its own: status = its id, no number)."""
    key = (loaded.version_id, id(loaded))
    cached = _completed.get(key)
    if cached is not None:
        return cached
    out = dict(loaded.steps)
    missing = [name for name in loaded.user_tasks if name not in out]
    if missing:
        shipped = _shipped_steps()
        for name in missing:
            info = loaded.user_tasks[name]
            out[name] = shipped.get(name) or StepInfo(
                name,
                name,
                0,
                False,
                False,
                info.get("title") or name,
                info.get("variable"),
                specs.lane_role(info.get("lane")),
            )
    if loaded.version_id:  # a designer's draft (id 0) is parsed anew for each run: not kept
        with _lock:
            _completed[key] = out
    return out


def of(version: ProcessVersion) -> dict[str, StepInfo]:
    """The steps of a stored process version (parsed once, with the spec)."""
    return of_loaded(specs.load(version))


def known(process_key: str = specs.PROCESS_ID) -> dict[str, StepInfo]:
    """The steps of every published version of the process, the newest version's word on each id:
    for lists that span months on different versions (inbox labels, dashboard, decision page).
    One light query (the versions' ids) per request, not per row; the parsing is cached."""
    memo: dict[str, dict[str, StepInfo]] = g.setdefault("_known_steps", {}) if has_request_context() else {}
    if process_key in memo:
        return memo[process_key]
    memo[process_key] = _known_now(process_key)
    return memo[process_key]


def _known_now(process_key: str) -> dict[str, StepInfo]:
    rows = db.session.execute(
        select(ProcessVersion.id, ProcessVersion.sha256)
        .where(ProcessVersion.process_key == process_key, ProcessVersion.status == "published")
        .order_by(ProcessVersion.version)
    ).all()
    key = (process_key, tuple((r.id, r.sha256) for r in rows))
    cached = _known.get(key)
    if cached is not None:
        return cached
    out: dict[str, StepInfo] = {}
    for row in rows:
        version = db.session.get(ProcessVersion, row.id)
        if version is not None:
            out.update(of(version))
    with _lock:
        _known.clear()  # only the current set of versions is worth keeping
        _known[key] = out
    return out


def deciding(process_key: str = specs.PROCESS_ID) -> list[str]:
    """The steps that decide the level (the head's decision, batched on the decision page)."""
    return sorted(s.step for s in known(process_key).values() if s.decides)


def decider_scoring(process_key: str = specs.PROCESS_ID) -> list[str]:
    """The head's own scoring before the decision: a scoring step of the review stage in the head's
    lane (people whose direct manager is the head; reviews escalated past their deadline)."""
    return sorted(s.step for s in known(process_key).values() if is_decider_scoring(s))


def is_decider_scoring(info: StepInfo) -> bool:
    return bool(info.scores and info.status == "review" and info.role == "decider")


def choices(process_key: str = specs.PROCESS_ID) -> list[tuple[str, str]]:
    """(step id, short title) for a filter of steps, in the process's order."""
    steps = known(process_key)
    last = count(steps) + 1
    rank = {status: i for i, status in enumerate(STEP_STATUSES)}  # a shared number: by the month's course
    return [
        (s.step, s.title)
        for s in sorted(steps.values(), key=lambda s: (s.order or last, rank.get(s.status, len(rank)), s.step))
    ]


def number(step: str, process_key: str = specs.PROCESS_ID) -> tuple[int, int] | None:
    """(n, N) for "Step n/N", or None for a step without a number."""
    steps = known(process_key)
    info = steps.get(step)
    if info is None or not info.order:
        return None
    return info.order, count(steps)
