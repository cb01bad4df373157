"""The city dashboard's monthly summary (migration 0011): kept by database triggers on every change that
moves a record, folded by the worker, and always equal to counting the records themselves."""

from __future__ import annotations

from sqlalchemy import case, delete, func, select, true, update

from app.extensions import db
from app.models import EvaluationRecord, RecordSummary, RecordSummaryDelta, RecordUnitSummary
from app.services.reporting import dashboard, summary

from . import test_month_api as month
from .conftest import PERIOD, user
from .support import Api, scores_for

PERIODS = dashboard.last_periods("2030-05")


def _norm(rows):
    return {
        (r.period, r.level or "", int(r.pub)): (int(r.n), int(r.n_total), round(float(r.sum_total or 0), 3))
        for r in rows
        if int(r.n)
    }


def _months(rows):
    return {(r.unit_id, r.status, r.level or "", int(r.pub)): int(r.n) for r in rows if int(r.n)}


def _from_summary():
    return (
        _norm(summary.trend_rows(PERIODS, dashboard.ENDED)),
        {p: _months(summary.month_rows(p)) for p in (PERIOD, "2030-04")},
    )


def _from_records():
    R = EvaluationRecord
    published = case((R.published_at.is_(None), 0), else_=1)
    months = {
        p: _months(
            db.session.execute(
                select(R.unit_id, R.status, R.level, published.label("pub"), func.count().label("n"))
                .where(R.period == p)
                .group_by(R.unit_id, R.status, R.level, published)
            ).all()
        )
        for p in (PERIOD, "2030-04")
    }
    return _norm(dashboard.trend_from_records(PERIODS, true())), months


def _deltas():
    return db.session.scalar(select(func.count()).select_from(RecordSummaryDelta))


def test_the_summary_follows_a_month_with_and_without_folding(client):
    assert _from_summary() == _from_records() == ({}, {PERIOD: {}, "2030-04": {}})
    month.test_full_month_through_the_api(client)  # open, evaluate, decide, publish, appeal, lock
    assert _deltas() > 0
    counted = _from_records()
    assert counted[0][(PERIOD, "B", 1)][0] == 6 and sum(v[0] for v in counted[0].values()) == 12
    assert sum(counted[1][PERIOD].values()) == 12 and len({k[0] for k in counted[1][PERIOD]}) >= 3
    assert _from_summary() == counted  # deltas not folded yet: still exact
    assert summary.fold() > 0 and _deltas() == 0
    assert _from_summary() == counted
    assert summary.fold() == 0

    # the next month moves while the last one is folded
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": "2030-04"}).status_code == 200
    ttb = Api(client, "ttb")
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], scores_for(77))
    assert _from_summary() == _from_records()
    summary.fold()
    assert _from_summary() == _from_records()
    assert _from_summary()[0][("2030-04", "", 0)][0] == 5  # the division's five people, none published

    # a record removed, one changed behind the application's back and one moved to another unit count too
    db.session.execute(
        delete(EvaluationRecord).where(
            EvaluationRecord.subject_id == user("lvc").id, EvaluationRecord.period == "2030-04"
        )
    )
    db.session.execute(
        update(EvaluationRecord)
        .where(EvaluationRecord.period == PERIOD, EvaluationRecord.subject_id == user("hve").id)
        .values(total=None)
    )
    db.session.execute(
        update(EvaluationRecord)
        .where(EvaluationRecord.period == "2030-04", EvaluationRecord.subject_id == user("ptd").id)
        .values(unit_id=user("hve").unit_id)
    )
    db.session.commit()
    assert _from_summary() == _from_records()
    summary.fold()
    assert _from_summary() == _from_records()


def test_rebuild_and_the_city_dashboard(client):
    month.test_full_month_through_the_api(client)
    summary.fold()
    folded = db.session.execute(select(RecordSummary)).scalars().all()
    as_rows = {(s.period, s.status, s.level, s.published): (s.n, s.n_total, s.sum_total) for s in folded}
    assert summary.rebuild() == len(as_rows)
    again = {
        (s.period, s.status, s.level, s.published): (s.n, s.n_total, s.sum_total)
        for s in db.session.execute(select(RecordSummary)).scalars()
    }
    assert again == as_rows
    # the city-wide dashboard (the root unit, a viewer who sees everything) reads the summary: a
    # summary row that disagrees with the records shows, which proves where the trend comes from
    board = dashboard.build(user("admin"), "UBTP", PERIOD)
    march = next(t for t in board["trend"] if t["period"] == PERIOD)
    assert march["evaluated"] == 12 and march["levels"]["A"] == 2 and march["mean"] is not None
    db.session.execute(
        update(RecordSummary)
        .where(RecordSummary.period == PERIOD, RecordSummary.level == "A")
        .values(n=RecordSummary.n + 100)
    )
    db.session.commit()
    board = dashboard.build(user("admin"), "UBTP", PERIOD)
    assert next(t for t in board["trend"] if t["period"] == PERIOD)["levels"]["A"] == 102
    agency = dashboard.build(user("admin"), "SNV", PERIOD)  # an agency: counted from its records
    assert next(t for t in agency["trend"] if t["period"] == PERIOD)["levels"]["A"] == 2
    summary.rebuild()
    board = dashboard.build(user("admin"), "UBTP", PERIOD)
    assert next(t for t in board["trend"] if t["period"] == PERIOD)["levels"]["A"] == 2
    assert board["summary"]["total"] == 12 and board["levels"]["A"] == 2
    # the month's counts by unit come from the unit summary the same way
    units_before = _months(summary.month_rows(PERIOD))
    db.session.execute(
        update(RecordUnitSummary)
        .where(RecordUnitSummary.period == PERIOD, RecordUnitSummary.level == "A")
        .values(n=RecordUnitSummary.n + 1)
    )
    db.session.commit()
    board = dashboard.build(user("admin"), "UBTP", PERIOD)
    assert board["summary"]["total"] == 12 + len([k for k in units_before if k[2] == "A"]) and board["levels"]["A"] > 2
    summary.rebuild()
    assert _months(summary.month_rows(PERIOD)) == units_before


def test_the_city_dashboard_shows_the_workers_count_of_overdue_tasks(client):
    from datetime import datetime, timezone

    from app.models import OverdueSnapshot

    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV", "period": PERIOD, "include_subunits": True}).status_code == 200
    summary.fold()
    now = datetime(2030, 4, 20, 3, 0, tzinfo=timezone.utc)  # after the self-evaluation deadline
    live = dashboard.build(user("admin"), "UBTP", PERIOD, now)
    assert live["summary"]["overdue"] == 12 and live["overdue"][0]["holders"]
    assert dashboard.refresh_city_overdue(now) == 1
    cached = dashboard.build(user("admin"), "UBTP", PERIOD, now)
    assert cached["overdue"] == live["overdue"] and cached["completion"] == live["completion"]
    # the snapshot is what the page shows while it is recent (proved by changing it) ...
    snap = db.session.get(OverdueSnapshot, PERIOD)
    snap.late = [dict(r, n=r["n"] + 1) for r in snap.late]
    db.session.commit()
    assert dashboard.build(user("admin"), "UBTP", PERIOD, now)["summary"]["overdue"] == 12 + len(snap.late)
    # ... and not once it is older than two minutes, nor for an agency
    later_now = now.replace(minute=10)
    assert dashboard.build(user("admin"), "UBTP", PERIOD, later_now)["summary"]["overdue"] == 12
    assert dashboard.build(user("admin"), "SNV", PERIOD, now)["summary"]["overdue"] == 12


def test_the_city_dashboard_by_child_unit_in_sql_matches_the_count_over_the_records(client, monkeypatch):
    """The city's build groups the summary, the plans and the overdue tasks by the root's children in SQL
    (and the worker's snapshot likewise); the same board counted unit by unit from the records, as for any
    other unit, gives the same figures, sub-units rolled up into their agency."""
    from datetime import datetime, timezone

    from app.services.reporting import filters

    from .monitor_seed import seed_month

    seed_month(client)
    summary.fold()
    now = datetime(2030, 4, 20, 3, 0, tzinfo=timezone.utc)  # self-evaluations overdue
    city = dashboard.build(user("admin"), "UBTP", PERIOD, now)
    assert dashboard.refresh_city_overdue(now) == 1
    cached = dashboard.build(user("admin"), "UBTP", PERIOD, now)
    with monkeypatch.context() as m:
        m.setattr(filters, "is_whole_tree", lambda unit: False)  # the path every other unit takes
        counted = dashboard.build(user("admin"), "UBTP", PERIOD, now)
    for board in (city, cached):
        for part in ("summary", "funnel", "overdue", "completion", "levels", "trend"):
            assert board[part] == counted[part], part
    snv = next(c for c in city["completion"] if c["unit"] == "SNV")
    assert snv["total"] == city["summary"]["total"] and snv["overdue"] > 0 and snv["done"] > 0
