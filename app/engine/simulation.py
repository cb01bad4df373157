"""Run a process version through every path before it is published.

The test run (testrun.py) follows one path. Here the same runner is driven again and again by a list
of choices: at each ready user task which of the form's answers to give (valid data and boundary
values, generated from its JSON Schema by the caller) or to leave it so that its deadline fires; when
the process waits for a message (the appeal), whether it comes or the window closes; and, for the
whole month, whether the direct manager is the head (same_holder true) or not, and whether the month
is opened before its period ends or after. A run that reaches an
element or a flow no earlier run reached is explored further: every other choice at every point after
those it was given. Any engine error is recorded with its element and the path that led to it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from lxml import etree

from . import specs, testrun
from .runtime import ReadyTask
from .specs import LoadedSpec

log = logging.getLogger(__name__)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_RUNS = 600  # the shipped process needs about 430 (each reminder timer multiplies the paths)
TIME_BUDGET = 60.0  # seconds


@dataclass
class Setup:
    """One way the month is set up: its label, seed data and who holds which lane."""

    label: str
    label_en: str
    seed: Callable[[], dict[str, Any]]
    roles: Callable[[str], int | None] | None = None
    start_at: datetime | None = None  # when the month is opened (default: explore's start_at)


@dataclass
class Failure:
    element: str | None
    message: str
    path: list[str]  # the BPMN ids completed before the failure
    choices: list[str]  # what was answered on the way, readable
    setup: str
    setup_en: str


@dataclass
class Report:
    runs: int = 0
    elements: set[str] = field(default_factory=set)  # every element some run completed
    flows: set[str] = field(default_factory=set)  # every sequence flow some run took
    failures: list[Failure] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)  # flow nodes of the diagram no run completed
    exhausted: bool = True  # False when the budget ran out first
    paths: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "elements": sorted(self.elements),
            "flows": sorted(self.flows),
            "failures": [f.__dict__ for f in self.failures],
            "unreached": self.unreached,
            "exhausted": self.exhausted,
        }


def _diagram(files: dict[str, str], process_id: str) -> tuple[dict[tuple[str, str], str], set[str], set[str]]:
    """Sequence flows by (source, target), flow nodes, and tasks with a timer on their boundary."""
    flows: dict[tuple[str, str], str] = {}
    nodes: set[str] = set()
    timed: set[str] = set()
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        tree = etree.fromstring(text.encode("utf-8"), specs.SAFE_XML_PARSER)
        for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            flows[(flow.get("sourceRef") or "", flow.get("targetRef") or "")] = flow.get("id") or ""
        for process in tree.iter(f"{{{BPMN_NS}}}process"):
            for el in process.iter():
                if not isinstance(el.tag, str) or not el.get("id"):
                    continue
                local = etree.QName(el).localname
                if local.endswith(("Task", "Event", "Gateway")) or local in ("task", "subProcess"):
                    nodes.add(el.get("id") or "")
                if local == "boundaryEvent" and any(True for _ in el.iter(f"{{{BPMN_NS}}}timerEventDefinition")):
                    timed.add(el.get("attachedToRef") or "")
    return flows, nodes, timed


def explore(
    loaded: LoadedSpec,
    setups: list[Setup],
    variants: Callable[[ReadyTask], list[tuple[str, dict[str, Any]]]],
    payload: Callable[[str], dict[str, Any]],
    start_at: datetime,
    max_runs: int = MAX_RUNS,
    time_budget: float = TIME_BUDGET,
) -> Report:
    """`variants(task)`: [(label, data)…] for a ready user task, the first being plain valid data;
    `payload(name)`: what the application sends with message `name`."""
    flows, nodes, timed = _diagram(loaded.files, loaded.spec.name)
    report = Report()
    # Choices never taken yet go first; the search stops once every element, every flow and every
    # answer offered anywhere has been taken at least once.
    fresh: deque[tuple[int, list[int]]] = deque((index, []) for index in range(len(setups)))
    rest: deque[tuple[int, list[int]]] = deque()
    offered: set[str] = set()
    answered: set[str] = set()
    deadline = time.monotonic() + time_budget
    failures_seen = set()
    while fresh or rest:
        if (
            report.runs >= len(setups)
            and nodes <= report.elements
            and set(flows.values()) <= report.flows
            and offered <= answered
        ):
            break
        if report.runs >= max_runs or time.monotonic() > deadline:
            report.exhausted = False
            break
        setup_index, prefix = (fresh or rest).popleft()
        setup = setups[setup_index]
        points: list[int] = []  # number of options at each decision point
        taken: list[int] = []
        labels: list[str] = []
        option_labels: list[list[str]] = []

        def decide(options: list[str]) -> int:
            i = len(taken)
            if i < len(prefix) and prefix[i] < len(options):
                choice: int = prefix[i]
            else:  # past the given choices: an answer no run gave yet, else the plain one
                choice = next((k for k, label in enumerate(options) if label not in answered), 0)
            answered.add(options[choice])
            points.append(len(options))
            option_labels.append(options)
            taken.append(choice)
            labels.append(options[choice])
            return choice

        def answer(task: ReadyTask, now: datetime) -> dict[str, Any] | None:
            answers = variants(task) or [("", {})]
            options = [f"{task.step}: {label}" if label else task.step for label, _ in answers]
            if task.step in timed:
                options.append(f"{task.step}: —")
            choice = decide(options)
            return None if choice >= len(answers) else answers[choice][1]

        def message(names: list[str], timer_waiting: bool) -> tuple[str, dict[str, Any]] | None:
            options = ([] if not timer_waiting else ["⏱"]) + [f"✉ {n}" for n in names]
            choice = decide(options)
            if timer_waiting and choice == 0:
                return None
            name = names[choice - (1 if timer_waiting else 0)]
            return name, payload(name)

        result = testrun.run(loaded, setup.seed, answer, setup.start_at or start_at, roles=setup.roles, message=message)
        report.runs += 1
        path = [p["element"] for p in result.path]
        new_elements = set(path) - report.elements
        taken_flows = {flows[(a, b)] for a, b in zip(path, path[1:]) if (a, b) in flows}
        new_flows = taken_flows - report.flows
        report.elements |= set(path)
        report.flows |= taken_flows
        if result.error:
            key = (result.error.get("element"), result.error.get("message"))
            if key not in failures_seen:
                failures_seen.add(key)
                report.failures.append(
                    Failure(
                        result.error.get("element"),
                        result.error.get("message") or "",
                        path,
                        labels,
                        setup.label,
                        setup.label_en,
                    )
                )
        answered |= set(labels)
        if new_elements or new_flows or not prefix:
            report.paths.append(path)
            for i in range(len(prefix), len(points)):
                for j in range(points[i]):
                    if j != taken[i]:
                        label = option_labels[i][j]
                        offered.add(label)
                        (rest if label in answered else fresh).append((setup_index, taken[:i] + [j]))
    report.unreached = sorted(nodes - report.elements)
    log.info(
        "simulated %s runs: %s elements, %s flows, %s failures",
        report.runs,
        len(report.elements),
        len(report.flows),
        len(report.failures),
    )
    return report
