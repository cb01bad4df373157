"""Quarter and year roll-up (tổng hợp, docs/regulation.md): per person the mean of the final monthly totals
over the evaluated months, its level from the exact mean, the months per level; unit totals; scoping."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import EvaluationRecord, ProcessInstance, ProcessVersion
from app.rules.levels import level_for_total
from app.services.reporting import rollup
from app.services.evaluation.cycles import unit_by_code
from app.services.errors import BadRequest, NotFound
from app.web.api.openapi import SPEC

from .conftest import user
from .support import Api
from .test_pages import login

Q1 = ["2030-01", "2030-02", "2030-03"]


def put(username, period, total, *, level=None, status="locked", published=True, unit=None):
    """One month's record, as the workflow projection leaves it (no workflow behind it)."""
    person = user(username)
    where = unit_by_code(unit) if unit else person.unit
    agency = where.agency() or where
    version = db.session.scalars(select(ProcessVersion)).first()
    instance = ProcessInstance(
        version_id=version.id,
        subject_id=person.id,
        unit_id=where.id,
        agency_id=agency.id,
        period=period,
        status="completed" if status == "locked" else "running",
        step="",
        snapshot="{}",
        serializer_version="test",
    )
    db.session.add(instance)
    db.session.flush()
    db.session.add(
        EvaluationRecord(
            instance_id=instance.id,
            subject_id=person.id,
            unit_id=where.id,
            agency_id=agency.id,
            period=period,
            scheme="hanoi-monthly",
            status=status,
            total=total,
            review_total=total,
            level=level or (level_for_total(total) if total is not None else None),
            published_at=datetime(2030, int(period[5:]) % 12 + 1, 5, tzinfo=timezone.utc) if published else None,
        )
    )


def quarter_data():
    for period, total in zip(Q1, (95, 85, 90)):
        put("nva", period, total)  # 90 → A
    for period, total in zip(Q1, (89.5, 90, 89)):
        put("ttb", period, total)  # 89.5 → B
    for period, total in zip(Q1, (89.99, 90, 90)):
        put("lvc", period, total)  # 89.9966… shows 90 but is B
    put("hve", "2030-01", 80)
    put("hve", "2030-02", None, status="not_evaluated", published=False)  # không đánh giá, as absence leaves it
    put("hve", "2030-03", 70)  # 75 → B over 2 months
    put("dtg", "2030-01", 60)
    put("dtg", "2030-02", 100, status="decision", published=False)  # not final yet: left out
    put("dtg", "2030-03", 45, level="D", status="published")  # published, in the appeal window: counts
    put("nva", "2029-12", 10)  # outside the quarter
    put("nva", "2030-04", 10)
    put("bti", "2030-03", 95, status="review", published=False)  # nothing final yet
    put("chutich", "2030-01", 99)  # UBTP, outside SNV
    db.session.commit()


def by_user(report):
    return {p["username"]: p for p in report["people"]}


def test_quarter_means_levels_and_counts(ctx):
    quarter_data()
    report = rollup.compute("SNV", "2030-Q1", None)
    assert report["unit"] == "SNV" and report["range"] == "2030-Q1" and report["periods"] == Q1
    people = by_user(report)
    assert set(people) == {"nva", "ttb", "lvc", "hve", "dtg", "bti"}

    nva = people["nva"]
    assert nva["mean"] == 90 and nva["level"] == "A" and nva["evaluated_months"] == 3
    assert nva["counts"] == {"A": 2, "B": 1, "C": 0, "D": 0}
    assert nva["months"]["2030-01"] == {"total": 95, "level": "A", "unit": "SNV-TCCB"}
    assert set(nva["months"]) == set(Q1) and nva["full_name"] == "Nguyễn Văn An" and nva["unit"] == "SNV-TCCB"

    ttb = people["ttb"]
    assert ttb["mean"] == 89.5 and ttb["level"] == "B" and ttb["counts"] == {"A": 1, "B": 2, "C": 0, "D": 0}

    lvc = people["lvc"]  # rounded for display only: the level comes from the exact mean
    assert lvc["mean"] == 90 and lvc["level"] == "B"

    hve = people["hve"]  # the "không đánh giá" month is out of the mean and of the count
    assert hve["evaluated_months"] == 2 and hve["mean"] == 75 and hve["level"] == "B"
    assert hve["counts"] == {"A": 0, "B": 2, "C": 0, "D": 0}
    assert "2030-02" not in hve["months"] and hve["not_evaluated"] == ["2030-02"]

    dtg = people["dtg"]  # the unpublished month is out; the published one counts
    assert dtg["evaluated_months"] == 2 and set(dtg["months"]) == {"2030-01", "2030-03"}
    assert dtg["mean"] == 52.5 and dtg["level"] == "C" and dtg["counts"] == {"A": 0, "B": 0, "C": 1, "D": 1}

    bti = people["bti"]
    assert bti["evaluated_months"] == 0 and bti["mean"] is None and bti["level"] is None and bti["months"] == {}

    summary = report["summary"]
    assert summary["people"] == 6
    assert summary["counts"] == {"A": 1, "B": 3, "C": 1, "D": 0, "none": 1}
    # mean of the people's exact means: (90 + 89.5 + 269.99/3 + 75 + 52.5) / 5 = 79.3993…
    assert summary["mean"] == 79.4

    tccb = rollup.compute("SNV-TCCB", "2030-q1", None)
    assert tccb["range"] == "2030-Q1" and [p["username"] for p in tccb["people"]] == ["lvc", "nva", "ttb"]
    assert tccb["summary"] == {"people": 3, "counts": {"A": 1, "B": 2, "C": 0, "D": 0, "none": 0}, "mean": 89.83}

    assert rollup.compute("SNV", "2030-Q2", None)["summary"] == {
        "people": 1,
        "counts": {"A": 0, "B": 0, "C": 0, "D": 1, "none": 0},
        "mean": 10,
    }
    empty = rollup.compute("SNV", "2031-Q1", None)
    assert empty["people"] == [] and empty["summary"]["mean"] is None and empty["summary"]["people"] == 0


def test_one_query_over_the_records(ctx):
    quarter_data()
    unit_by_code("SNV").subtree_ids()  # load the unit tree first
    statements = []

    def count(conn, cursor, statement, *args):
        if "evaluation_records" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        report = rollup.compute("SNV", "2030-Q1", None)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(report["people"]) == 6 and len(statements) == 1
    assert "process_instances" not in statements[0]


def test_year_over_twelve_months(ctx):
    for month in range(1, 12):
        put("gd", f"2030-{month:02d}", 95 if month <= 6 else 84)  # 6 × 95 + 5 × 84 = 990 over 11
    put("gd", "2030-12", 0, level="D", status="not_evaluated")  # even with a total and a date, left out
    db.session.commit()
    report = rollup.compute("SNV", "2030", None)
    assert report["range"] == "2030" and report["periods"] == [f"2030-{m:02d}" for m in range(1, 13)]
    gd = by_user(report)["gd"]
    assert gd["evaluated_months"] == 11 and gd["mean"] == 90 and gd["level"] == "A"
    assert gd["counts"] == {"A": 6, "B": 5, "C": 0, "D": 0} and gd["not_evaluated"] == ["2030-12"]
    q4 = by_user(rollup.compute("SNV", "2030-Q4", None))["gd"]
    assert q4["evaluated_months"] == 2 and q4["mean"] == 84 and q4["level"] == "B"


def test_person_transferred_during_the_quarter(ctx):
    put("ttb", "2030-01", 80, unit="SNV-TCCB")
    put("ttb", "2030-02", 90, unit="SNV-CCVC")
    put("ttb", "2030-03", 100, unit="SNV-CCVC")
    put("nva", "2030-01", 70)
    put("hve", "2030-01", 60)
    db.session.commit()
    for code, others in (("SNV-TCCB", {"nva"}), ("SNV-CCVC", {"hve"})):
        report = rollup.compute(code, "2030-Q1", None)
        people = by_user(report)
        assert set(people) == {"ttb"} | others
        ttb = people["ttb"]  # all months, wherever they were
        assert ttb["evaluated_months"] == 3 and ttb["mean"] == 90 and ttb["level"] == "A"
        assert ttb["unit"] == "SNV-CCVC"
        assert {p: m["unit"] for p, m in ttb["months"].items()} == {
            "2030-01": "SNV-TCCB",
            "2030-02": "SNV-CCVC",
            "2030-03": "SNV-CCVC",
        }
        assert report["summary"]["counts"]["A"] == 1 and report["summary"]["people"] == 2
    assert rollup.compute("SNV", "2030-Q1", None)["summary"]["people"] == 3  # once in the agency


def test_bad_range_and_unknown_unit(ctx):
    for bad in ("2030-Q5", "2030-Q0", "2030-13", "Q1-2030", "2030-01", "30", "", None, 2030, "2030 Q1", "0000"):
        with pytest.raises(BadRequest) as exc:
            rollup.compute("SNV", bad, None)
        assert "YYYY-Qn" in exc.value.message and "YYYY-Qn" in exc.value.message_en
    with pytest.raises(NotFound):
        rollup.compute("KHONG-CO", "2030-Q1", None)


def department_head(username, unit_code):
    unit_by_code(unit_code).head_id = user(username).id
    db.session.commit()


def test_api_scoping_and_errors(client):
    quarter_data()
    department_head("tpcc", "SNV-CCVC")
    hr = Api(client, "nva")  # HR officer of the agency
    resp = hr.get("/reports/rollup?unit=SNV&range=2030-Q1")
    assert resp.status_code == 200
    body = resp.get_json()
    assert by_user(body)["nva"]["mean"] == 90 and by_user(body)["ttb"]["level"] == "B"
    assert body["summary"]["counts"] == {"A": 1, "B": 3, "C": 1, "D": 0, "none": 1}
    # the city level is cut to what HR may see: chutich's UBTP month is not there
    assert "chutich" not in by_user(hr.get("/reports/rollup?unit=UBTP&range=2030-Q1").get_json())
    admin = Api(client, "admin")
    assert "chutich" in by_user(admin.get("/reports/rollup?unit=UBTP&range=2030-Q1").get_json())
    assert Api(client, "gd").get("/reports/rollup?unit=SNV-CCVC&range=2030").status_code == 200

    # no unit to see: 403; the head of another department sees nothing of this one, and only theirs
    staff = Api(client, "ttb").get("/reports/rollup?unit=SNV&range=2030-Q1")
    assert staff.status_code == 403 and staff.get_json()["error"] == "forbidden"
    tpcc = Api(client, "tpcc")
    other = tpcc.get("/reports/rollup?unit=SNV-TCCB&range=2030-Q1")
    assert other.status_code == 200 and other.get_json()["people"] == []
    assert other.get_json()["summary"] == {
        "people": 0,
        "counts": {"A": 0, "B": 0, "C": 0, "D": 0, "none": 0},
        "mean": None,
    }
    assert set(by_user(tpcc.get("/reports/rollup?unit=SNV&range=2030-Q1").get_json())) == {"hve", "dtg", "bti"}

    for bad in ("2030-Q5", "2030-03", "abc", ""):
        resp = hr.get(f"/reports/rollup?unit=SNV&range={bad}")
        assert resp.status_code == 400, bad
        err = resp.get_json()
        assert err["error"] == "bad_request" and "YYYY-Qn" in err["message"] and err["message_en"]
    assert hr.get("/reports/rollup?range=2030-Q1").status_code == 400
    missing = hr.get("/reports/rollup?unit=KHONG-CO&range=2030-Q1")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert client.get("/api/v1/reports/rollup?unit=SNV&range=2030-Q1").status_code == 401
    assert "/api/v1/reports/rollup" in SPEC["paths"]


def test_rollup_page(client):
    quarter_data()
    login(client, "nva")
    page = client.get("/reports/rollup?unit=SNV&range=2030-Q1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "quý I/2030" in html and "<caption" in html and 'scope="col"' in html and 'scope="row"' in html
    assert "Nguyễn Văn An" in html and "89,5" in html and "79,4" in html and "KĐG" in html
    assert 'href="/reports/rollup"' in client.get("/dashboard/evaluations").get_data(as_text=True)  # nav link
    year = client.get("/reports/rollup?unit=SNV-TCCB&range=2030")
    assert year.status_code == 200 and "năm 2030" in year.get_data(as_text=True)
    assert client.get("/reports/rollup").status_code == 200  # defaults: first unit, last quarter
    bad = client.get("/reports/rollup?unit=SNV&range=2030-Q7")
    assert bad.status_code == 400 and "YYYY-Qn" in bad.get_data(as_text=True)
    assert client.get("/reports/rollup?unit=KHONG-CO&range=2030-Q1").status_code == 404

    fresh = client.application.test_client()
    login(fresh, "ttb")
    assert fresh.get("/reports/rollup?unit=SNV&range=2030-Q1").status_code == 403


def test_real_month_marked_not_evaluated(ctx):
    """Records as the services leave them: a month opened, one person marked "không đánh giá"."""
    from app.services.evaluation import absence, cycles

    cycles.open_month("SNV-CCVC", "2030-02", False, user("nva"))
    instance = db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.subject_id == user("hve").id, ProcessInstance.period == "2030-02")
    ).one()
    absence.mark_not_evaluated(instance.id, user("tpcc"), "Nghỉ thai sản cả tháng")
    put("hve", "2030-01", 80)
    put("hve", "2030-03", 70)
    db.session.commit()
    people = by_user(rollup.compute("SNV-CCVC", "2030-Q1", None))
    hve = people["hve"]
    assert hve["not_evaluated"] == ["2030-02"] and hve["evaluated_months"] == 2 and hve["mean"] == 75
    dtg = people["dtg"]  # opened, still in self-evaluation: listed, nothing final
    assert dtg["evaluated_months"] == 0 and dtg["months"] == {} and dtg["level"] is None
