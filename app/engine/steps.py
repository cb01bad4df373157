"""What the application needs to know about a step, read from the step's own extension properties.

A user task in the process carries, next to its form, the properties that tell the application how to
treat it (docs/designer.md, "What the app reads from the diagram"):

    <spiffworkflow:property name="stepStatus" value="review" />    the record's status while it is open
    <spiffworkflow:property name="stepOrder" value="2" />          its number in "Step 2/4"
    <spiffworkflow:property name="stepScores" value="true" />      the form takes scores (prefilled)
    <spiffworkflow:property name="stepDecides" value="false" />    the head's decision on the level
    <spiffworkflow:property name="stepTitle" value="..." />        a short title (else the task's name)

Status and order are required on every user task; validation refuses a task without them, or with a
value outside the lists below, naming the element. Nothing here reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The statuses of an evaluation record that an open step can mean, in the order a month passes them.
# A status not listed here has no page, filter or count that knows it, so a step may not claim it.
STEP_STATUSES: tuple[str, ...] = ("planning", "plan_approval", "self_evaluation", "review", "decision", "appeal")

STATUS = "stepStatus"
ORDER = "stepOrder"
SCORES = "stepScores"
DECIDES = "stepDecides"
TITLE = "stepTitle"
NAMES: tuple[str, ...] = (STATUS, ORDER, SCORES, DECIDES, TITLE)
REQUIRED: tuple[str, ...] = (STATUS, ORDER)
_BOOLEANS = {"true": True, "false": False}
MAX_ORDER = 99


@dataclass(frozen=True)
class StepInfo:
    """One user task as the application sees it."""

    step: str  # the BPMN id of the user task
    status: str  # one of STEP_STATUSES
    order: int  # 1.. ; steps that stand in for each other share a number
    scores: bool  # the form takes scores, prefilled from the scoring step before it
    decides: bool  # the head's decision on the level (checked against the rules)
    title: str  # short title
    variable: str | None = None  # where the form's answer is stored (spiffworkflow:variableName)
    role: str | None = None  # the lane's role


@dataclass(frozen=True)
class Problem:
    """Why a step's properties are refused: the property and a sentence in each language."""

    name: str
    message: str
    message_en: str


def read(
    step: str, props: dict[str, str], *, title: str = "", variable: str | None = None, role: str | None = None
) -> tuple[StepInfo | None, list[Problem]]:
    """The step's info from its properties, or None and the reasons it cannot be read."""
    problems: list[Problem] = []
    status = (props.get(STATUS) or "").strip()
    if not status:
        problems.append(
            Problem(
                STATUS,
                f"Bước {step} chưa ghi trạng thái hồ sơ ({STATUS}): chọn một trong {', '.join(STEP_STATUSES)}.",
                f"Step {step} has no record status ({STATUS}): choose one of {', '.join(STEP_STATUSES)}.",
            )
        )
    elif status not in STEP_STATUSES:
        problems.append(
            Problem(
                STATUS,
                f"Trạng thái “{status}” của bước {step} không có trong danh sách {', '.join(STEP_STATUSES)}.",
                f"The status “{status}” of step {step} is not one of {', '.join(STEP_STATUSES)}.",
            )
        )
    order_text = (props.get(ORDER) or "").strip()
    order = 0
    if not order_text:
        problems.append(
            Problem(ORDER, f"Bước {step} chưa ghi số thứ tự ({ORDER}).", f"Step {step} has no order number ({ORDER}).")
        )
    elif not order_text.isdigit() or not 1 <= int(order_text) <= MAX_ORDER:
        problems.append(
            Problem(
                ORDER,
                f"Số thứ tự “{order_text}” của bước {step} phải là số nguyên từ 1 đến {MAX_ORDER}.",
                f"The order “{order_text}” of step {step} must be a whole number from 1 to {MAX_ORDER}.",
            )
        )
    else:
        order = int(order_text)
    flags: dict[str, bool] = {}
    for name in (SCORES, DECIDES):
        text = (props.get(name) or "false").strip().lower()
        if text not in _BOOLEANS:
            problems.append(
                Problem(
                    name,
                    f"Thuộc tính {name} của bước {step} phải là true hoặc false, không phải “{props.get(name)}”.",
                    f"The property {name} of step {step} must be true or false, not “{props.get(name)}”.",
                )
            )
        flags[name] = _BOOLEANS.get(text, False)
    if problems:
        return None, problems
    short = (props.get(TITLE) or "").strip() or title or step
    return StepInfo(step, status, order, flags[SCORES], flags[DECIDES], short, variable, role), []


def count(steps: dict[str, StepInfo]) -> int:
    """How many numbered steps a month has (the N of "Step n/N")."""
    return max((s.order for s in steps.values()), default=0)


def prefill_source(steps: dict[str, StepInfo], step: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The answer a scoring step starts from: that of the latest scoring step before it (by order)
    whose answer is in the data — the review starts from the self-evaluation, an appeal's amendment
    from the review."""
    this = steps.get(step)
    if this is None or not this.scores:
        return None
    earlier = sorted(
        (s for s in steps.values() if s.scores and s.order < this.order and s.variable), key=lambda s: -s.order
    )
    for other in earlier:
        answer = data.get(other.variable or "")
        if isinstance(answer, dict):
            return answer
    return None


def answer(
    steps: dict[str, StepInfo], data: dict[str, Any], status: str | None = None, decides: bool = False
) -> dict[str, Any] | None:
    """The answer stored by the step that means `status` (a scoring one: the self-evaluation, the
    review, the appeal's amendment) or, with `decides`, by the deciding step; the latest such step by
    order whose answer is in the data."""
    chosen = [s for s in steps.values() if s.variable and (s.decides if decides else s.scores and s.status == status)]
    for step in sorted(chosen, key=lambda s: -s.order):
        found = data.get(step.variable or "")
        if isinstance(found, dict):
            return found
    return None
