"""Parse and cache process specs per process version.

A version is a set of files (BPMN, DMN, form JSON) stored in the database. Parsing costs
~10 ms with the XSD check, so each version is parsed once per process and kept.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from . import steps as step_props

PROCESS_ID = "monthly_evaluation"

# No entity expansion, no network, no DTD: uploads cannot smuggle XXE or "billion laughs".
SAFE_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
)


class SpecError(Exception):
    """A process version that does not parse; `element` names the BPMN id where known."""

    def __init__(self, message: str, element: str | None = None, file_name: str | None = None):
        super().__init__(message)
        self.element, self.file_name = element, file_name


@dataclass
class LoadedSpec:
    version_id: int
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    files: dict[str, str]
    user_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what the application knows about each user task, from its properties (read once per version);
    # a task whose properties are missing or invalid is left out (validation names it)
    steps: dict[str, step_props.StepInfo] = field(default_factory=dict)
    # the lowest total of each level under this version's classification table (engine.classification)
    level_thresholds: dict[str, float] | None = field(default=None, repr=False)

    def form_file(self, bpmn_id: str) -> str | None:
        return self.user_tasks.get(bpmn_id, {}).get("form")


_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
UNSAFE_XML_VI = (
    "Tệp {name} có khai báo DOCTYPE/ENTITY: không được phép (chặn tấn công XXE và “billion laughs”); "
    "hãy xuất lại tệp từ công cụ vẽ quy trình."
)
UNSAFE_XML_EN = (
    "{name}: DOCTYPE/ENTITY declarations are not allowed (they enable XXE and “billion laughs” "
    "attacks); export the file again from the modelling tool."
)


def unsafe_xml(text: str) -> bool:
    """True when the text declares a DTD or entities (refused before any parser sees it)."""
    return bool(_DECLARATION.search(text))


def _safe_tree(text: str, name: str) -> etree._Element:
    if unsafe_xml(text):
        raise SpecError(f"{UNSAFE_XML_VI.format(name=name)} / {UNSAFE_XML_EN.format(name=name)}", file_name=name)
    try:
        return etree.fromstring(text.encode("utf-8"), SAFE_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SpecError(f"{name}: {exc}", file_name=name) from exc


def parse(files: dict[str, str], process_id: str = PROCESS_ID) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for name, text in sorted(files.items()):
            if name.endswith(".bpmn"):
                parser.add_bpmn_xml(_safe_tree(text, name), filename=name)
            elif name.endswith(".dmn"):
                parser.add_dmn_xml(_safe_tree(text, name), filename=name)
        spec = parser.get_spec(process_id)
        return spec, parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise SpecError(str(exc), element=getattr(exc, "id", None), file_name=getattr(exc, "file_name", None)) from exc
    except SpecError:
        raise
    except etree.XMLSchemaParseError as exc:  # SpiffWorkflow's own DMN 1.2 schema does not load
        raise SpecError(f"SpiffWorkflow cannot read this DMN version: {exc}") from exc


def _describe_user_tasks(spec: BpmnProcessSpec) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, task_spec in spec.task_specs.items():
        if not getattr(task_spec, "manual", False):
            continue
        ext = getattr(task_spec, "extensions", {}) or {}
        props = ext.get("properties", {}) or {}
        out[name] = {
            "title": getattr(task_spec, "bpmn_name", None) or name,
            "lane": task_spec.lane,
            "form": props.get("formJsonSchemaFilename"),
            "ui_form": props.get("formUiSchemaFilename"),
            "instructions": ext.get("instructionsForEndUser") or "",
            "variable": getattr(task_spec, "variable", None),
            "properties": dict(props),
        }
    return out


def _read_steps(user_tasks: dict[str, dict[str, Any]]) -> dict[str, step_props.StepInfo]:
    out = {}
    for name, info in user_tasks.items():
        step, _ = step_props.read(
            name, info["properties"], title=info["title"], variable=info["variable"], role=lane_role(info["lane"])
        )
        if step is not None:
            out[name] = step
    return out


def loaded_from(
    spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec], files: dict[str, str]
) -> LoadedSpec:
    """A LoadedSpec for files that are not a stored version (a designer's draft, run in memory)."""
    user_tasks = _describe_user_tasks(spec)
    return LoadedSpec(0, spec, subprocess_specs, dict(files), user_tasks, _read_steps(user_tasks))


_cache: dict[tuple[int, str], LoadedSpec] = {}
_lock = threading.Lock()


class StoredVersion(Protocol):
    """What `load` reads of a ProcessVersion row."""

    id: int
    sha256: str
    process_key: str
    files: dict[str, str]


def load(version: StoredVersion) -> LoadedSpec:
    """`version` is a ProcessVersion row (id, sha256, files)."""
    key = (version.id, version.sha256)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            spec, subs = parse(version.files, version.process_key)
            user_tasks = _describe_user_tasks(spec)
            cached = LoadedSpec(version.id, spec, subs, dict(version.files), user_tasks, _read_steps(user_tasks))
            _cache[key] = cached
        return cached


def lane_role(lane: str | None) -> str | None:
    """'Lãnh đạo trực tiếp [direct_manager]' -> 'direct_manager'; a bare name is the role itself."""
    if not lane:
        return None
    if "[" in lane and lane.rstrip().endswith("]"):
        return lane[lane.rindex("[") + 1 : -1].strip()
    return lane.strip()
