"""BPMN scripts run restricted, also after a workflow is loaded from its snapshot (G1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine import sandbox, specs
from app.engine.runtime import Workflow
from app.models import ProcessInstance
from app.extensions import db
from app.services.evaluation import cycles

from .conftest import PERIOD

ESCAPES = [
    "import os",
    "__import__('os')",
    "open('/etc/passwd').read()",
    "().__class__.__base__.__subclasses__()",
    "eval('1+1')",
    "getattr(review, '__class__')",
]


@pytest.mark.parametrize("script", ESCAPES)
def test_escapes_are_refused(script):
    with pytest.raises(Exception):
        sandbox.SCRIPT_ENGINE.environment.execute(script, {"review": {}})


def test_helpers_and_plain_python_work():
    ctx = {"review": {"scores": {"I.1": 4}}, "criteria": [{"code": "I.1", "group": "I", "max": 5}]}
    sandbox.SCRIPT_ENGINE.environment.execute("total = score_total(review, criteria)\nn = len([1, 2])", ctx)
    assert ctx["total"] == 4.0 and ctx["n"] == 2


def test_loaded_workflow_runs_with_the_restricted_engine(ctx):
    cycles.open_month("SNV-TCCB", PERIOD)
    instance = db.session.scalars(select(ProcessInstance)).first()
    workflow = Workflow.load(specs.load(instance.version), instance.snapshot)
    assert workflow.wf.script_engine is sandbox.SCRIPT_ENGINE
    assert '"spec"' not in instance.snapshot[:200] and len(instance.snapshot) < 20000


def test_xxe_and_entities_are_refused():
    evil = """<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</definitions>"""
    with pytest.raises(specs.SpecError, match="DOCTYPE"):
        specs.parse({"evil.bpmn": evil})
