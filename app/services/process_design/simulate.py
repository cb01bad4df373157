"""Publish only what has run: a draft is simulated through every path before it may be published.

The engine explores the paths (app/engine/simulation.py); this module gives it what a month needs
without touching the database: the seed data of a sample person (the default scheme's criteria),
the ways the month may be set up (a separate direct manager, or a head's own record where the
manager is the head; opened after its period or when it starts), the answers to each form (valid data, then boundary values: each choice of a
list, each yes/no flipped, numbers at their minimum and maximum, scores all at zero, texts at their
longest, lists empty, of one full row and at their longest) and the appeal's payload. Each engine
error becomes a finding with its element and path.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime


from app import localtime
from app import forms
from app.engine import simulation, specs
from app.engine.validation import Finding
from app.rules import schemes as scheme_rules

from app.services.evaluation import tasks

log = logging.getLogger(__name__)
PERIOD = "2030-03"


def _seed(position_group: str):
    definition = scheme_rules.SCHEMES[scheme_rules.DEFAULT_SCHEME]

    def seed() -> dict:
        from app.engine.helpers import now_iso

        return {
            "period": PERIOD,
            "opened_at": now_iso(),
            "scheme": scheme_rules.DEFAULT_SCHEME,
            "scheme_version": 1,
            "criteria": scheme_rules.criteria_for(definition, position_group),
            "criteria_groups": dict(definition["groups"]),
            "working_days": 22,
            "subject": {"username": "mau", "full_name": "Nguyễn Văn Mẫu", "position_group": position_group},
        }

    return seed


SETUPS = [
    ("Lãnh đạo trực tiếp khác Thủ trưởng", "A direct manager who is not the head", "staff", None),
    (
        "Hồ sơ của người mà Lãnh đạo trực tiếp là Thủ trưởng",
        "A record whose direct manager is the head",
        "leader",
        lambda role: 1,
    ),
]
# When the month is opened: after its period (the usual case), or on its first day (a process may
# start with steps done during the period, such as a work plan)
OPENINGS = [
    ("mở sau kỳ", "opened after the period", (2030, 4, 1)),
    ("mở đầu kỳ", "opened when the period starts", (2030, 3, 1)),
]


def form_variants(schema: dict) -> list[tuple[str, dict]]:
    """Valid answers to an (expanded) form: plain sample data first, then boundary values one field at a time."""
    from .designer import _sample_value, full_item, sample_data

    props = {k: v for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict) and not v.get("readOnly")}
    full = {}
    for key, prop in props.items():
        value = _sample_value(schema, prop)
        if value is not None:
            full[key] = value
    candidates = [("", sample_data(schema)), ("", full)]
    for key, prop in props.items():
        options = forms.enum_options(prop)
        kind = prop.get("type")
        kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
        if options:
            for value, _vi, _en in options:
                candidates.append((f"{key}={value}", dict(full, **{key: value})))
        elif kind == "boolean":
            candidates.append((f"{key}={not full.get(key)}", dict(full, **{key: not full.get(key)})))
        elif kind in ("number", "integer"):
            for bound in ("minimum", "maximum"):
                if bound in prop:
                    candidates.append((f"{key}={prop[bound]}", dict(full, **{key: prop[bound]})))
        elif kind == "object" and isinstance(full.get(key), dict) and full[key]:
            zeros = {k: 0 for k in full[key]}
            candidates.append((f"{key}=0", dict(full, **{key: zeros})))
        elif kind == "string" and prop.get("maxLength"):
            candidates.append((f"{key}=…{prop['maxLength']}", dict(full, **{key: "x" * int(prop["maxLength"])})))
        elif kind == "array" and isinstance(prop.get("items"), dict):
            # lists at their limits: none, one row with every field, as many rows as allowed
            row = full_item(schema, prop["items"])
            candidates.append((f"{key}=[]", dict(full, **{key: []})))
            if row is not None:
                candidates.append((f"{key}=[1]", dict(full, **{key: [row]})))
                most = min(int(prop.get("maxItems") or 0), 200)
                if most > 1:
                    candidates.append((f"{key}=[{most}]", dict(full, **{key: [row] * most})))
    out, seen = [], set()
    for label, data in candidates:
        data = forms.strip_readonly(schema, data)
        key = json.dumps(data, sort_keys=True, default=str)
        if key in seen or forms.validate(schema, data):
            continue
        seen.add(key)
        out.append((label, data))
    return out


def _decision_allowed(data: dict, context: dict) -> bool:
    from app.services.errors import Invalid

    try:
        tasks._check_decision(data, context)
    except Invalid:
        return False
    return True


def simulate(files: dict[str, str], process_key: str) -> simulation.Report:
    spec, subprocess_specs = specs.parse(files, process_key)
    loaded = specs.loaded_from(spec, subprocess_specs, files)
    cache: dict[tuple, list] = {}

    def variants(task):
        if not task.form:
            return [("", {})]
        context = tasks.form_context(task.data)
        key = (
            task.form,
            json.dumps(context.get("criteria"), sort_keys=True, default=str),
            json.dumps(context.get("allowed_levels"), default=str),
        )
        if key not in cache:
            try:
                cache[key] = form_variants(forms.expand(forms.load_form(files, task.form), context))
            except forms.FormError:
                cache[key] = [("", {})]
        step = loaded.steps.get(task.step)
        if step is not None and step.decides:  # what tasks.complete refuses besides the schema
            return [(label, data) for label, data in cache[key] if _decision_allowed(data, task.data)]
        return cache[key]

    def payload(name: str) -> dict:
        data = {}
        if f"{name}.json" in files:
            try:
                from .designer import sample_data

                data = sample_data(forms.load_form(files, f"{name}.json"))
            except forms.FormError:
                data = {}
        return dict(data, by="mau", at="2030-04-10T09:00:00+07:00")

    tz = localtime.zone()
    setups = [
        simulation.Setup(f"{vi}, {when_vi}", f"{en}, {when_en}", _seed(group), roles, datetime(*day, 8, 0, tzinfo=tz))
        for when_vi, when_en, day in OPENINGS
        for vi, en, group, roles in SETUPS
    ]
    return simulation.explore(loaded, setups, variants, payload, datetime(2030, 4, 1, 8, 0, tzinfo=tz))


def findings(files: dict[str, str], process_key: str) -> tuple[list[Finding], simulation.Report | None]:
    """Errors the simulation met (each with its element and path), as validation findings."""
    bpmn = next((n for n in sorted(files) if n.endswith(".bpmn")), None)
    try:
        report = simulate(files, process_key)
    except specs.SpecError as exc:  # reported by the static checks already
        log.info("simulation skipped, the process does not parse: %s", exc)
        return [], None
    out = []
    for failure in report.failures:
        path = " → ".join(failure.path[-12:])
        answers = "; ".join(c for c in failure.choices if ":" in c or c.startswith(("⏱", "✉")))
        out.append(
            Finding(
                "error",
                "simulation",
                bpmn,
                failure.element,
                f"Chạy thử tự động dừng ở {failure.element or '?'}: {failure.message}. Đường đi ({failure.setup}): "
                f"{path}. Câu trả lời: {answers or '—'}.",
                f"The automatic simulation stopped at {failure.element or '?'}: {failure.message}. Path "
                f"({failure.setup_en}): {path}. Answers: {answers or '—'}.",
            )
        )
    if not report.exhausted:
        out.append(
            Finding(
                "warning",
                "simulation_budget",
                bpmn,
                None,
                f"Chạy thử tự động dừng sau {report.runs} lượt, chưa thử hết mọi đường đi.",
                f"The automatic simulation stopped after {report.runs} runs before trying every path.",
            )
        )
    for element in report.unreached:
        out.append(
            Finding(
                "warning",
                "simulation_unreached",
                bpmn,
                element,
                f"Chạy thử tự động không lần nào đi tới {element}.",
                f"No simulated run reached {element}.",
            )
        )
    log.info("simulated %s: %s runs, %s failures", process_key, report.runs, len(report.failures))
    return out, report
