"""Dashboard, lists, saved filters, exports and the evaluation sheet (issue #5): the figures against a
seeded month with known states, scoping for every role (also by editing the unit or the id in the URL
and through the API), nonsense filters (400 or empty, never 500), keyset paging, the Excel files."""

from __future__ import annotations

import base64
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, SavedFilter
from app.services.reporting import dashboard, exports, filters

from .conftest import PERIOD, csrf_token, user
from .monitor_seed import (
    AFTER_SELF_DUE,
    PUBLISHED,
    SNV_PEOPLE,
    TCCB_PEOPLE,
    instance_id,
    ready_task,
    record,
    seed_month,
)
from .support import Api
from .test_pages import login


def usernames(page_json) -> set[str]:
    return {i["username"] for i in page_json["items"]}


def all_pages(api, path, **params):
    """Follow next_cursor to the end; returns the items in order."""
    items, cursor, seen = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        resp = api.get(path, query_string=query)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        seen += 1
        assert seen < 50
        if not cursor:
            return items


# ------------------------------------------------------------------------------- the figures
def test_overdue_names_the_holders_with_the_most_and_counts_the_rest(client, monkeypatch):
    """A city-wide month has a late holder per person: the board lists the top ones per step (one query,
    no list of ids sent to the database) and how many more there are; the step's count stays whole."""
    seed_month(client)
    monkeypatch.setattr(dashboard, "TOP_HOLDERS", 2)
    board = dashboard.build(user("admin"), "SNV", PERIOD, now=AFTER_SELF_DUE)
    [step] = board["overdue"]
    assert step["count"] == 5 and len(step["holders"]) == 2 and step["more_holders"] == 3
    assert {h["username"] for h in step["holders"]} <= {"gd", "admin", "tpcc", "dtg", "bti"}


def test_dashboard_counts_for_a_seeded_month(client):
    seed_month(client)
    board = dashboard.build(user("nva"), "SNV", PERIOD, now=AFTER_SELF_DUE)
    funnel = {f["status"]: f["count"] for f in board["funnel"]}
    assert funnel == {
        "self_evaluation": 5,
        "review": 3,
        "decision": 0,
        "published": 3,
        "appeal": 0,
        "locked": 0,
        "not_evaluated": 1,
    }
    assert [f["status"] for f in board["funnel"]][:6] == list(dashboard.FUNNEL)
    assert board["summary"] == {
        "total": 12,
        "done": 4,
        "open": 8,
        "overdue": 5,
        "percent": 33,
        "suspended": 1,
        "error": 0,
    }
    assert board["levels"] == {"A": 1, "B": 2, "C": 0, "D": 0, "none": 8}

    # overdue: the five self-evaluations still waiting, each held by its own subject
    assert [s["step"] for s in board["overdue"]] == ["self_evaluation"]
    holders = {h["username"]: h["count"] for h in board["overdue"][0]["holders"]}
    assert holders == {"gd": 1, "admin": 1, "tpcc": 1, "dtg": 1, "bti": 1}

    assert board["overdue"][0]["count"] == 5 and board["overdue"][0]["more_holders"] == 0
    completion = {c["unit"]: (c["total"], c["done"], c["percent"], c["overdue"]) for c in board["completion"]}
    assert completion == {"SNV-VP": (2, 0, 0, 2), "SNV-TCCB": (5, 3, 60, 0), "SNV-CCVC": (5, 1, 20, 3)}
    tccb = next(c for c in board["completion"] if c["unit"] == "SNV-TCCB")
    assert tccb["levels"] == {"A": 1, "B": 2, "C": 0, "D": 0}

    trend = board["trend"]
    assert len(trend) == 12 and trend[-1]["period"] == PERIOD and trend[0]["period"] == "2029-04"
    last = trend[-1]
    assert (last["evaluated"], last["published"], last["levels"]) == (11, 3, {"A": 1, "B": 2, "C": 0, "D": 0})
    assert last["mean"] == round((92 + 80 + 75) / 3, 2)
    assert all(t["evaluated"] == 0 for t in trend[:-1])

    # before the self-evaluation deadline nothing is overdue
    early = dashboard.build(user("nva"), "SNV", PERIOD, now=AFTER_SELF_DUE.replace(day=2))
    assert early["summary"]["overdue"] == 0 and early["overdue"] == []

    # a sub-unit: the division's own numbers
    division = dashboard.build(user("nva"), "SNV-TCCB", PERIOD, now=AFTER_SELF_DUE)
    assert division["summary"]["total"] == 5 and division["summary"]["done"] == 3

    charts = dashboard.chart_data(board)
    assert charts["levels"]["values"] == [1, 2, 0, 0, 8]
    assert len(charts["trend"]["labels"]) == 12 and charts["trend"]["mean"][-1] == last["mean"]


def test_dashboard_page_and_api(client):
    seed_month(client)
    login(client, "nva")
    page = client.get(f"/dashboard?unit=SNV&period={PERIOD}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'data-status="published" data-count="3"', html)
    assert re.search(r'data-level="A" data-count="1"', html)
    assert re.search(r'data-unit="SNV-TCCB" data-total="5" data-done="3" data-percent="60"', html)
    assert 'id="dashboard-data"' in html and "vendor/chart.umd.js" in html and "dashboard.js" in html
    assert "<script>" not in html  # no inline script (CSP script-src 'self')
    assert 'href="/dashboard/export/monthly.xlsx?unit=SNV&amp;period=2030-03"' in html
    # the default unit and period: HR's agency and the latest month with records
    default = client.get("/dashboard").get_data(as_text=True)
    assert "Sở Nội vụ (SNV)" in default and 'value="2030-03"' in default

    api = Api(client, "nva")
    body = api.get("/dashboard", query_string={"unit": "SNV", "period": PERIOD}).get_json()
    assert body["summary"]["total"] == 12 and body["levels"]["A"] == 1 and body["scope"] == "units"
    assert isinstance(body["generated_at"], str)
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/dashboard",
        "/api/v1/evaluations",
        "/api/v1/human-tasks",
        "/api/v1/instances/{instance_id}/suspend",
        "/api/v1/human-tasks/{task_id}/extend",
    ):
        assert path in spec["paths"], path


# ---------------------------------------------------------------------------------- scoping
@pytest.mark.parametrize(
    "username, expected",
    [
        ("admin", SNV_PEOPLE),  # administrator: everything
        ("chutich", SNV_PEOPLE),  # head of the city: every agency below
        ("gd", SNV_PEOPLE),  # head of the agency
        ("nva", SNV_PEOPLE),  # HR officer: the agency's subtree
        ("tptc", TCCB_PEOPLE),  # head and direct manager of the division
        ("tpcc", {"tpcc", "hve", "dtg", "vvh", "bti"}),
        ("ttb", {"ttb"}),  # staff: only their own
    ],
)
def test_who_sees_which_records(client, username, expected):
    seed_month(client)
    api = Api(client, username)
    assert usernames_all(api) == expected
    board = api.get("/dashboard", query_string={"period": PERIOD}).get_json()
    assert board["summary"]["total"] == len(expected)


def usernames_all(api) -> set[str]:
    return {i["username"] for i in all_pages(api, "/evaluations", period=PERIOD, limit=5)}


def test_a_direct_manager_sees_only_their_people(client):
    seed_month(client)
    ptd = user("ptd")
    ptd.manager_id = user("lvc").id  # lvc manages ptd, heads nothing
    db.session.commit()
    api = Api(client, "lvc")
    assert usernames_all(api) == {"lvc", "ptd"}
    board = api.get("/dashboard", query_string={"unit": "SNV-TCCB", "period": PERIOD}).get_json()
    assert board["summary"]["total"] == 2 and board["scope"] == "people"
    assert api.get("/dashboard", query_string={"unit": "SNV-CCVC", "period": PERIOD}).status_code == 403
    assert api.get("/evaluations", query_string={"unit": "SNV-CCVC"}).status_code == 403
    tasks = all_pages(api, "/human-tasks", period=PERIOD)
    assert {t["username"] for t in tasks} <= {"lvc", "ptd"} and tasks
    rows = exports.monthly_rows(user("lvc"), "SNV-TCCB", PERIOD)[1]
    assert {r["username"] for r in rows} == {"lvc", "ptd"}
    roll = exports.rollup_data(user("lvc"), "SNV-TCCB", "2030-Q1")
    assert {p["username"] for p in roll["people"]} == {"lvc", "ptd"}
    assert roll["summary"]["people"] == 2 and roll["summary"]["counts"]["B"] == 1


def test_a_manager_cannot_see_another_unit_by_editing_the_url(client):
    seed_month(client)
    hve = instance_id("hve")  # SNV-CCVC
    login(client, "tptc")  # head of SNV-TCCB
    assert client.get(f"/dashboard?unit=SNV-CCVC&period={PERIOD}").status_code == 403
    assert client.get(f"/dashboard/evaluations?unit=SNV-CCVC&period={PERIOD}").status_code == 403
    assert client.get("/dashboard/tasks?unit=SNV-CCVC").status_code == 403
    assert client.get(f"/dashboard/export/monthly.xlsx?unit=SNV-CCVC&period={PERIOD}").status_code == 403
    assert client.get("/dashboard/export/rollup.xlsx?unit=SNV-CCVC&range=2030-Q1").status_code == 403
    assert client.get(f"/instances/{hve}").status_code == 403
    assert client.get(f"/instances/{hve}/sheet").status_code == 403
    assert client.get(f"/instances/{hve}/diagram.json").status_code == 403
    # the parent unit shows only what is theirs
    html = client.get(f"/dashboard/evaluations?unit=SNV&period={PERIOD}").get_data(as_text=True)
    assert "Hoàng Văn Em" not in html and "Trần Thị Bình" in html
    assert re.search(r'id="result-count" data-total="5"', html)

    api = Api(client, "tptc")
    assert api.get("/evaluations", query_string={"unit": "SNV-CCVC"}).status_code == 403
    assert api.get("/human-tasks", query_string={"unit": "SNV-CCVC"}).status_code == 403
    assert api.get("/dashboard", query_string={"unit": "SNV-CCVC"}).status_code == 403
    assert api.get(f"/instances/{hve}").status_code == 403
    assert api.post(f"/instances/{hve}/suspend", {"reason": "Thử thao tác ngoài phạm vi"}).status_code == 403
    task = ready_task("hve")
    assert api.post(f"/human-tasks/{task.id}/remind").status_code == 403

    staff = Api(client, "ttb")
    assert staff.get("/dashboard", query_string={"unit": "SNV-CCVC"}).status_code == 403
    assert usernames(staff.get("/evaluations", query_string={"unit": "SNV"}).get_json()) == {"ttb"}


# --------------------------------------------------------------------------------- the lists
def test_list_filters(client):
    seed_month(client)
    api = Api(client, "nva")

    def names(**params):
        resp = api.get("/evaluations", query_string=dict(period=PERIOD, **params))
        assert resp.status_code == 200, resp.get_json()
        return usernames(resp.get_json())

    assert names(unit="SNV-TCCB") == TCCB_PEOPLE
    assert names(level="A") == {"ttb"}
    assert names(level="B") == {"lvc", "tptc"}
    assert names(level="none") == SNV_PEOPLE - set(PUBLISHED)
    assert names(status="review") == {"nva", "ptd", "hve"}
    assert names(status="open") == {"nva", "ptd", "hve", "gd", "admin", "tpcc", "dtg", "bti"}
    assert names(status="done") == set(PUBLISHED) | {"vvh"}
    assert names(status="suspended") == {"bti"}
    assert names(step="review") == {"nva", "ptd", "hve"}
    assert names(step="review", assignee="tptc") == {"nva", "ptd"}
    assert names(assignee="tpcc") == {"hve", "tpcc"}
    assert names(name="bình") | names(name="Bình") == {"ttb"}
    assert names(name="ttb") == {"ttb"}
    assert names(assignee="nobody-here") == set()
    assert names(step="no_such_step") == set()
    assert names(status="no_such_status") == set()
    assert names(name="%") == set() and names(name="_") == set()

    # overdue depends on the clock: make two tasks late in the projection
    late = [record("hve").instance_id, record("dtg").instance_id]
    db.session.execute(
        db.text("UPDATE human_tasks SET due_at = :past WHERE status = 'ready' AND instance_id IN (:a, :b)"),
        {"past": AFTER_SELF_DUE.replace(year=2020), "a": late[0], "b": late[1]},
    )
    db.session.commit()
    assert names(overdue="1") == {"hve", "dtg"}
    assert "hve" not in names(overdue="0") and "ttb" in names(overdue="0")
    tasks = api.get("/human-tasks", query_string={"period": PERIOD, "overdue": "1"}).get_json()
    assert usernames(tasks) == {"hve", "dtg"} and all(t["overdue"] for t in tasks["items"])
    ready = all_pages(api, "/human-tasks", period=PERIOD, status="ready", sort="due", limit=3)
    assert {t["username"] for t in ready[:2]} == {"hve", "dtg"}  # the late ones first
    assert len(ready) == 8


@pytest.mark.parametrize(
    "sort", ["name", "-name", "unit", "-unit", "total", "-total", "status", "period", "updated", "-updated"]
)
def test_keyset_paging_returns_every_row_once_in_order(client, sort):
    seed_month(client)
    api = Api(client, "admin")
    items = all_pages(api, "/evaluations", period=PERIOD, sort=sort, limit=5)
    ids = [i["instance_id"] for i in items]
    assert len(ids) == 12 and len(set(ids)) == 12
    if sort.lstrip("-") == "total":
        totals = [i["total"] for i in items if i["total"] is not None]
        assert totals == sorted(totals, reverse=sort.startswith("-"))
        assert all(i["total"] is None for i in items[len(totals) :])  # no total: last, both ways
    if sort.lstrip("-") == "name":
        names = [i["full_name"] for i in items]
        assert names == sorted(names, reverse=sort.startswith("-"))


@pytest.mark.parametrize("sort", ["name", "-total", "unit", "-updated"])
def test_keyset_paging_of_a_large_result(client, monkeypatch, sort):
    """Past COUNT_CAP rows the page is read in index order without the fence: same rows, same order."""
    seed_month(client)
    api = Api(client, "admin")
    small = [i["instance_id"] for i in all_pages(api, "/evaluations", period=PERIOD, sort=sort, limit=5)]
    monkeypatch.setattr(filters, "COUNT_CAP", 3)
    first = api.get("/evaluations", query_string={"period": PERIOD, "sort": sort, "limit": 5}).get_json()
    assert first["total"] == 3 and first["total_capped"] is True
    large = [i["instance_id"] for i in all_pages(api, "/evaluations", period=PERIOD, sort=sort, limit=5)]
    assert large == small and len(large) == 12


@pytest.mark.parametrize("sort", ["due", "-due", "name", "step", "unit", "created"])
def test_task_paging(client, sort):
    seed_month(client)
    api = Api(client, "admin")
    every = all_pages(api, "/human-tasks", period=PERIOD, sort=sort, limit=4)
    ids = [t["id"] for t in every]
    assert len(ids) == len(set(ids)) == db.session.scalar(select(db.func.count()).select_from(HumanTask))


@pytest.mark.parametrize(
    "query",
    [
        {"period": "2030-13"},
        {"period": "1999-01"},
        {"period": "abc"},
        {"level": "E"},
        {"sort": "salary"},
        {"sort": "-"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W1tdXQ"},
        {"limit": "0"},
        {"limit": "100000"},
        {"limit": "-1"},
        {"overdue": "maybe"},
        {"status": "'; DROP TABLE users; --"},
        {"step": "<script>"},
        {"name": "x" * 500},
        {"unit": "x" * 300},
        {"unit": "\x00"},
        {"name": "a\x00b"},
        {"assignee": "\x00"},
        {"period": "2030-03\x00"},
        {"cursor": base64.urlsafe_b64encode(b'["\\u0000",1]').decode().rstrip("=")},  # a NUL inside the cursor
    ],
)
def test_nonsense_filters_are_400_never_500(client, query):
    seed_month(client)
    api = Api(client, "nva")
    for path in ("/evaluations", "/human-tasks"):
        resp = api.get(path, query_string=query)
        assert resp.status_code == 400, (path, query, resp.status_code)
        assert resp.get_json()["error"] == "bad_request"
    login(client, "nva")
    page = client.get("/dashboard/evaluations", query_string=query)
    html = page.get_data(as_text=True)
    nul = any("\x00" in str(v) for v in query.values())  # refused before any view runs, with its own message
    assert page.status_code == 400 and ('id="filter-error"' in html or (nul and "NUL" in html))


def test_nonsense_on_the_dashboard_and_exports(client):
    seed_month(client)
    api = Api(client, "nva")
    for query in (
        {"period": "2030-00"},
        {"period": "x"},
        {"period": ""},
        {"unit": ""},
        {"unit": "\x00"},
        {"period": "2030-03\x00"},
        {"period": "2030-3"},
        {"period": "2030-+3"},
        {"period": "2030-03\n"},
    ):
        assert api.get("/dashboard", query_string=query).status_code == 400, query
    # a well-formed code that names no unit is not found, on the dashboard as in every list and report
    for path, query in (
        ("/dashboard", {}),
        ("/evaluations", {}),
        ("/human-tasks", {}),
        ("/instances", {}),
        ("/reports/monthly", {"period": PERIOD}),
    ):
        missing = api.get(path, query_string=dict(query, unit="NOPE"))
        assert missing.status_code == 404 and missing.get_json()["error"] == "not_found", path
    login(client, "nva")
    page = client.get("/dashboard/evaluations", query_string={"unit": "NOPE"})
    assert page.status_code == 404 and 'id="filter-error"' in page.get_data(as_text=True)
    # a NUL anywhere in an API request is a 400 before any service runs (PostgreSQL refuses it in text)
    assert api.get("/reports/rollup", query_string={"unit": "\x00", "range": "2030"}).status_code == 400
    assert api.post(f"/instances/{instance_id('ttb')}/suspend", {"reason": "Lý do\x00 thử"}).status_code == 400
    assert client.post("/api/v1/auth/token", json={"username": "\x00", "password": "x"}).status_code == 400
    login(client, "nva")
    assert client.get("/dashboard?period=9999-99").status_code == 400
    assert client.get("/dashboard/export/monthly.xlsx?unit=SNV&period=2030-3").status_code == 400
    assert client.get("/dashboard/export/monthly.xlsx?unit=&period=2030-03").status_code == 400
    assert client.get("/dashboard/export/rollup.xlsx?unit=SNV&range=Q5").status_code == 400
    assert client.get("/instances/999999/sheet").status_code == 404
    assert client.get(f"/dashboard/evaluations?period={PERIOD}&cursor=%00%ff").status_code == 400
    assert client.post("/operations/instances/1/explode", data={}).status_code in (302, 404)  # no CSRF (back) / no op


def test_a_cursor_is_bound_to_its_sort(client):
    seed_month(client)
    api = Api(client, "nva")
    first = api.get("/evaluations", query_string={"period": PERIOD, "sort": "total", "limit": 2}).get_json()
    assert first["next_cursor"]
    resp = api.get("/evaluations", query_string={"period": PERIOD, "sort": "name", "cursor": first["next_cursor"]})
    assert resp.status_code == 400


def test_saved_filters(client):
    seed_month(client)
    login(client, "nva")
    page = client.get(f"/dashboard/evaluations?period={PERIOD}&level=B")
    html = page.get_data(as_text=True)
    resp = client.post(
        "/dashboard/filters",
        data={
            "kind": "evaluations",
            "filter_name": "Loại B tháng 3",
            "period": PERIOD,
            "level": "B",
            "csrf_token": csrf_token(html),
        },
    )
    assert resp.status_code == 302
    saved = db.session.scalars(select(SavedFilter)).one()
    assert saved.params == {"period": PERIOD, "level": "B"} and saved.user_id == user("nva").id
    listing = client.get("/dashboard/evaluations").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Loại B tháng 3</a>', listing).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(link).query) == {"period": [PERIOD], "level": ["B"]}
    result = client.get(link).get_data(as_text=True)
    assert "Lê Văn Công" in result and "Trần Thị Bình" not in result
    # saving the same name again replaces it; a bad filter is not saved
    client.post(
        "/dashboard/filters",
        data={"kind": "evaluations", "filter_name": "Loại B tháng 3", "level": "A", "csrf_token": csrf_token(html)},
    )
    assert db.session.scalars(select(SavedFilter)).one().params == {"level": "A"}
    client.post(
        "/dashboard/filters",
        data={"kind": "evaluations", "filter_name": "Hỏng", "period": "2030-99", "csrf_token": csrf_token(html)},
    )
    assert db.session.scalar(select(db.func.count()).select_from(SavedFilter)) == 1
    # another user cannot delete it
    filter_id = saved.id
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login(client, "ttb")
    other = client.get("/dashboard/evaluations").get_data(as_text=True)
    assert "Loại B tháng 3" not in other
    assert (
        client.post(f"/dashboard/filters/{filter_id}/delete", data={"csrf_token": csrf_token(other)}).status_code == 404
    )
    assert db.session.scalar(select(db.func.count()).select_from(SavedFilter)) == 1
    with pytest.raises(Exception):
        filters.save_filter(user("ttb"), "evaluations", "", {})


# ---------------------------------------------------------------------------------- exports
def test_monthly_excel_export(client):
    seed_month(client)
    login(client, "nva")
    resp = client.get(f"/dashboard/export/monthly.xlsx?unit=SNV-TCCB&period={PERIOD}")
    assert resp.status_code == 200
    assert resp.mimetype == exports.XLSX
    assert 'filename="ket-qua-danh-gia-SNV-TCCB-2030-03.xlsx"' in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb.active
    assert ws["A1"].value == "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI"
    assert ws["A2"].value == "SỞ NỘI VỤ"
    cells = [c.value for row in ws.iter_rows(min_row=1, max_row=3) for c in row if c.value]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert ws["A5"].value.endswith("THÁNG 03/2030")
    assert ws["A6"].value == "Đơn vị: Phòng Tổ chức cán bộ (SNV-TCCB)"
    assert [c.value for c in ws[8]] == exports.MONTHLY_HEADERS
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=9, max_row=13)]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    by_user = {r[2]: r for r in rows}
    assert set(by_user) == TCCB_PEOPLE
    assert by_user["ttb"][1] == "Trần Thị Bình" and by_user["ttb"][3] == "Phòng Tổ chức cán bộ"
    assert by_user["ttb"][4] == 85 and by_user["ttb"][5] == 92 and by_user["ttb"][6] == "A"
    assert by_user["ttb"][7] == "Hoàn thành xuất sắc nhiệm vụ"
    assert by_user["ttb"][8] == "Đã công bố, trong thời hạn kiến nghị"
    assert by_user["lvc"][5] == 80 and by_user["lvc"][6] == "B"
    assert (
        by_user["nva"][5] is None and by_user["nva"][6] in (None, "") and by_user["nva"][8] == "Đang chờ lãnh đạo chấm"
    )
    names = [r[1] for r in rows]
    assert names == sorted(names, key=lambda n: exports._name_key(n))
    summary = ws.cell(15, 1).value
    assert summary.startswith("Tổng số: 5 người.") and "Loại A: 1" in summary and "Loại B: 2" in summary
    assert any(c.value == "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ" for row in ws.iter_rows(min_row=16) for c in row)
    # ready to print
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$8:$8" and ws.freeze_panes == "A9"
    assert ws["B8"].font.bold and ws["B9"].font.name == "Times New Roman"

    # the roll-up export of the quarter
    resp = client.get("/dashboard/export/rollup.xlsx?unit=SNV-TCCB&range=2030-Q1")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert "QUÝ I NĂM 2030" in ws["A5"].value
    header = [c.value for c in ws[8]]
    assert header[:6] == ["STT", "Họ và tên", "Đơn vị", "T1", "T2", "T3"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=9, max_row=13, values_only=True)}
    assert rows["Trần Thị Bình"][5] == "92 (A)" and rows["Trần Thị Bình"][3] == "—"
    assert rows["Trần Thị Bình"][header.index("Điểm trung bình")] == 92
    assert rows["Trần Thị Bình"][header.index("Xếp loại")] == "A"
    assert rows["Nguyễn Văn An"][header.index("Xếp loại")] == "—"


def test_evaluation_sheet(client):
    seed_month(client)
    ttb = instance_id("ttb")
    login(client, "ttb")
    resp = client.get(f"/instances/{ttb}/sheet")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "PHIẾU ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG HẰNG THÁNG" in html and "Tháng 03 năm 2030" in html
    assert 'id="sheet-name">Trần Thị Bình<' in html
    assert re.search(r'id="sheet-total">92<', html)
    assert "A — Hoàn thành xuất sắc nhiệm vụ" in html
    assert "Khối lượng công việc so với kế hoạch" in html
    assert "Nhận xét ttb" in html and "Tự đánh giá của ttb" in html
    assert "Phạm Thu Hà" in html and "Nguyễn Thị Hồng Giang" in html  # reviewer and decider
    assert "sheet.css" in html and "print.js" in html and "<script>" not in html
    assert client.get(f"/instances/{instance_id('lvc')}/sheet").status_code == 403
