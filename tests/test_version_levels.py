"""The classification level follows the process version a record belongs to: a designer who publishes a
table starting B at 85 changes the why-text, the review's objective-cause estimate and the quarter
roll-up, and the shipped version keeps 90/70/50."""

from __future__ import annotations

from sqlalchemy import select

from app.engine import classification, helpers, runtime, specs
from app.extensions import db
from app.models import EvaluationRecord, ProcessInstance, ProcessVersion
from app.rules import kpi, levels
from app.services.regulation import level_scale
from app.services.evaluation import why
from app.services.process_design import versions
from app.services.reporting import rollup

from .test_rollup import Q1, put

B_AT_85 = {"A": 90, "B": 85, "C": 50, "D": 0}


def _b_at_85(text: str) -> str:
    return text.replace("&gt;= 70", "&gt;= 85")


def _publish_b_at_85() -> ProcessVersion:
    latest = versions.latest_published()
    files = dict(latest.files, **{"classification.dmn": _b_at_85(latest.files["classification.dmn"])})
    version = ProcessVersion(
        process_key=versions.PROCESS_KEY,
        version=latest.version + 1,
        files=files,
        sha256=versions.digest(files),
        status="published",
        note="B from 85",
    )
    db.session.add(version)
    db.session.commit()
    return version


def test_the_scale_is_read_from_each_versions_table(ctx):
    shipped = specs.load(versions.latest_published())
    assert dict(classification.thresholds(shipped)) == levels.LEVEL_MIN_TOTAL == {"A": 90, "B": 70, "C": 50, "D": 0}
    loaded = specs.load(_publish_b_at_85())
    assert dict(classification.thresholds(loaded)) == B_AT_85
    assert [classification.level_for(loaded, t) for t in (90, 89.99, 85, 84.99, 50, 49.99)] == [
        "A",
        "B",
        "B",
        "C",
        "C",
        "D",
    ]
    assert [classification.level_for(shipped, t) for t in (85, 70, 69.99)] == ["B", "B", "C"]
    # kept on the cached spec: a list asks the table once per version, not per row
    assert loaded.level_thresholds is classification.thresholds(loaded)


def test_a_strict_bound_is_found_to_the_hundredth(ctx):
    latest = versions.latest_published()
    files = dict(
        latest.files, **{"classification.dmn": latest.files["classification.dmn"].replace("&gt;= 70", "&gt; 84.5")}
    )
    loaded = specs.loaded_from(*specs.parse(files), files)
    assert classification.thresholds(loaded)["B"] == 84.51


def test_the_review_estimate_follows_the_running_versions_table(ctx):
    """The script `plan_rules` of the review: a confirmed objective cause would give 80 points, which is
    B on the shipped table and C on a version starting B at 85."""
    review = {"days_worked": 21, "kpi_confirmed": {"total": 80.0, "scores": {}, "reasons": ["Báo cáo: chờ số liệu"]}}

    def estimate(loaded):
        with runtime._run(loaded=loaded):
            result = helpers.SCRIPT_HELPERS["plan_rules"](levels.apply_level_rules("C", 60.0, review, 22), review, 22)
        return next(r for r in result["rules_applied"] if r["rule"] == "plan_objective_cause")

    assert estimate(specs.load(versions.latest_published()))["score_level"] == "B"
    assert estimate(specs.load(_publish_b_at_85()))["score_level"] == "C"
    # the rule itself stays pure: the thresholds come in as data
    pure = kpi.plan_rules(levels.apply_level_rules("C", 60.0, review, 22), review, 22, B_AT_85)
    assert next(r for r in pure["rules_applied"] if r["rule"] == "plan_objective_cause")["level"] == "C"


def test_the_why_text_names_the_versions_threshold(ctx):
    put("ttb", "2030-01", 86, level="B")
    put("hve", "2030-01", 86, level="B")
    db.session.commit()
    records = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.period == "2030-01")).all()
    shipped_record, new_record = sorted(records, key=lambda r: r.id)
    db.session.get(ProcessInstance, new_record.instance_id).version_id = _publish_b_at_85().id
    db.session.commit()
    db.session.expire_all()
    new_record = db.session.get(EvaluationRecord, new_record.id)
    assert dict(level_scale.of_record(new_record)) == B_AT_85
    vi = why.texts(why.of_record(new_record), "vi")
    en = why.texts(why.of_record(new_record), "en")
    assert vi[0] == "Tổng 86 điểm → loại B (loại B: từ 85 điểm)."
    assert "85" in en[0] and "70" not in en[0]
    assert (
        why.texts(why.of_record(db.session.get(EvaluationRecord, shipped_record.id)), "vi")[0]
        == "Tổng 86 điểm → loại B (loại B: từ 70 điểm)."
    )
    # a proposal above the score names the version's threshold too
    result = {"total": 80, "level": "C", "rules_applied": [{"rule": "score", "level": "C", "total": 80}]}
    proposal = why.texts(why.explain(result, proposed_level="B", thresholds=B_AT_85), "vi")[0]
    assert "loại B cần từ 85 điểm" in proposal


def test_the_rollup_follows_the_version_of_the_latest_month(ctx):
    for period in Q1:
        put("ttb", period, 80)  # mean 80: B on the shipped table
        put("hve", period, 80)
    db.session.commit()
    report = {p["username"]: p for p in rollup.compute("SNV", "2030-Q1", None)["people"]}
    assert report["ttb"]["level"] == "B" and report["hve"]["level"] == "B"

    new = _publish_b_at_85()
    latest = db.session.scalars(select(ProcessInstance).where(ProcessInstance.period == "2030-03")).all()
    hve = next(i for i in latest if i.subject.username == "hve")
    hve.version_id = new.id
    db.session.commit()
    report = rollup.compute("SNV", "2030-Q1", None)
    people = {p["username"]: p for p in report["people"]}
    assert people["ttb"]["level"] == "B" and people["hve"]["level"] == "C"
    assert report["summary"]["counts"]["C"] == 1
