"""The raw SpiffWorkflow floor: what any application pays for the same process, in memory, one core.

- start: BpmnWorkflow(spec) + do_engine_steps() + serialize.
- completion: deserialize + complete the self-evaluation + do_engine_steps() + serialize.

Both with the library's own serializer (`BpmnWorkflowSerializer`, which repeats the process spec in
every snapshot) — the floor — and with the app's spec-less serializer (engine.persistence) for
reference. The process's scripts need the app's helpers (working-day deadlines), so the workflow
runs with the same restricted script engine the app attaches; nothing touches a database.
"""

from __future__ import annotations

import time

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine import helpers, persistence, sandbox

LIBRARY = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


class _Engine:
    """The context a run needs (the calendar for the deadline helpers, an outbox for notify())."""

    def __init__(self, calendar):
        self.calendar = calendar

    def __enter__(self):
        self.tokens = (helpers.current_calendar.set(self.calendar), helpers.outbox.set([]))

    def __exit__(self, *exc):
        helpers.current_calendar.reset(self.tokens[0])
        helpers.outbox.reset(self.tokens[1])


def _start(loaded, seed):
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
    sandbox.attach(wf)
    wf.task_tree.data.update(seed)
    wf.do_engine_steps()
    return wf


def start_rate(loaded, seed: dict, calendar, n: int, spec_less: bool = False) -> float:
    dump = persistence.dump if spec_less else LIBRARY.serialize_json
    with _Engine(calendar):
        _start(loaded, dict(seed))
        began = time.perf_counter()
        for _ in range(n):
            dump(_start(loaded, dict(seed)))
        return n / (time.perf_counter() - began)


def completion_rate(
    loaded, seed: dict, form: dict, calendar, n: int, spec_less: bool = False, clock=time.perf_counter
) -> float:
    """Completions per second; `clock=time.process_time` counts this process's CPU only, as the app's
    CPU per completion is counted (bench.completion), so that a busy machine inflates neither."""
    with _Engine(calendar):
        wf = _start(loaded, dict(seed))
        snapshot = persistence.dump(wf) if spec_less else LIBRARY.serialize_json(wf)

        def once():
            if spec_less:
                wf = persistence.load(snapshot, loaded)
            else:
                wf = LIBRARY.deserialize_json(snapshot)
                sandbox.attach(wf)
            task = wf.get_next_task(state=TaskState.READY, manual=True)
            task.task_spec.add_data_from_form(task, form)
            task.run()
            wf.do_engine_steps()
            return persistence.dump(wf) if spec_less else LIBRARY.serialize_json(wf)

        once()
        began = clock()
        for _ in range(n):
            once()
        return n / (clock() - began)
