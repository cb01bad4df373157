"""Nothing that would fail can be published (issue #15): static checks that know the data, an
allow-list of the elements the app runs, and a simulation of every path before publishing."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import validation
from app.services import simulate, versions

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "monthly_evaluation.bpmn"


def disk_files() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in
            sorted((ROOT / "processes").glob("*.bpmn")) + sorted((ROOT / "processes").glob("*.dmn"))
            + sorted((ROOT / "forms").glob("*.json"))}


def lint(files):
    return validation.validate(files, known_roles=versions.KNOWN_ROLES, app_forms=versions.APP_FORMS)


def test_simulation_covers_every_path_of_the_shipped_process(ctx):
    findings, report = simulate.findings(disk_files(), "monthly_evaluation")
    assert [f.message_en for f in findings if f.severity == "error"] == []
    assert report.exhausted and report.unreached == []
    # every gateway branch and boundary timer: return for revision, the head's record, missed
    # deadlines, appeal (amended and kept) and no appeal
    for flow in ("to_revision", "revision_no", "flow_review_merge_review_by_decider", "flow_review_merge_review",
                 "appeal_amend", "appeal_keep", "flow_appeal_window_closed_lock_merge",
                 "flow_self_evaluation_deadline_overdue", "flow_review_deadline_escalate"):
        assert flow in report.flows, flow

