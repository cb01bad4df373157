"""Snapshots without the process spec.

The spec is 60–75% of a full snapshot and is identical for every instance of a version, so
instance snapshots leave it out and loading plugs the cached, already-parsed spec back in.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG

from . import sandbox
from .specs import LoadedSpec


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # SpiffWorkflow is untyped
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        # load() puts the live spec objects here instead of their serialized form.
        workflow = self.target_class(dct.pop("spec"), dct.pop("subprocess_specs"), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _SpeclessWorkflowConverter
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))
SERIALIZER_VERSION = SERIALIZER.VERSION


def dump(workflow: BpmnWorkflow) -> str:
    text: str = SERIALIZER.serialize_json(workflow)
    return text


def load(snapshot: str, loaded_spec: LoadedSpec) -> BpmnWorkflow:
    dct = json.loads(snapshot)
    SERIALIZER.migrate(dct)
    dct["spec"] = loaded_spec.spec
    dct["subprocess_specs"] = loaded_spec.subprocess_specs
    workflow = SERIALIZER.from_dict(dct)
    sandbox.attach(workflow)
    return workflow
