"""Issue 12 §2: text from people (names, unit names, usernames) is written into every Excel and CSV
export as text, never as a formula, whatever it starts with."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Unit
from app.services import audit
from app.services.reporting import spreadsheet_text

from .conftest import PERIOD, user
from .monitor_seed import open_month
from .test_pages import login

LINK = '=HYPERLINK("http://127.0.0.1/x","bấm vào đây")'
HOSTILE = {  # username -> the name an import gave them
    "ttb": LINK,
    "lvc": "+cmd|' /C calc'!A0",
    "ptd": "-2+3+cmd|' /C calc'!A0",
    "tptc": "@SUM(1+1)*cmd|' /C calc'!A0",
    "nva": "\t=1+1",
}
CR_NAME = "\r=1+1 Phòng"
TRIGGERS = ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"]


def _rename_people():
    for username, name in HOSTILE.items():
        user(username).full_name = name
    db.session.scalars(select(Unit).where(Unit.code == "SNV-TCCB")).one().name = CR_NAME
    db.session.commit()


def _text_cells(content: bytes):
    wb = load_workbook(io.BytesIO(content))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def _assert_no_formula_and_names_intact(content: bytes, expect: set[str]):
    cells = _text_cells(content)
    formulas = [(c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert formulas == []
    shown = {c.value: c for c in cells}
    for text in expect:
        assert text in shown, f"{text!r} is not shown as it is"
        assert shown[text].data_type == "s" and shown[text].quotePrefix  # Excel keeps it text when edited


@pytest.mark.parametrize("text", TRIGGERS)
def test_every_trigger_is_kept_as_text(text):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.cell(1, 1, text)
    wb.active.cell(1, 2, "Nguyễn Văn An")
    wb.active.cell(1, 3, -5)
    spreadsheet_text.keep_workbook_text(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    a, b, c = _text_cells(buffer.getvalue())
    assert (a.value, a.data_type, a.quotePrefix) == (text, "s", True)
    assert (b.value, b.quotePrefix) == ("Nguyễn Văn An", False)  # ordinary text untouched
    assert (c.value, c.data_type) == (-5, "n")  # numbers stay numbers
    assert spreadsheet_text.csv_field(text) == "'" + text
    assert spreadsheet_text.csv_field("Nguyễn") == "Nguyễn" and spreadsheet_text.csv_field(-5) == -5


def test_monthly_and_rollup_exports_write_names_as_text(client):
    hr = open_month(client)
    _rename_people()
    expect = set(HOSTILE.values())

    resp = hr.get(f"/reports/monthly.xlsx?unit=SNV-TCCB&period={PERIOD}")  # the API
    assert resp.status_code == 200
    _assert_no_formula_and_names_intact(resp.data, expect | {CR_NAME})

    login(client, "nva")
    resp = client.get(f"/dashboard/export/monthly.xlsx?unit=SNV-TCCB&period={PERIOD}")
    assert resp.status_code == 200
    _assert_no_formula_and_names_intact(resp.data, expect | {CR_NAME})

    resp = client.get("/dashboard/export/rollup.xlsx?unit=SNV-TCCB&range=2030-Q1")
    assert resp.status_code == 200
    _assert_no_formula_and_names_intact(resp.data, expect)


def test_audit_csv_prefixes_formula_like_fields(client):
    hostile = user("lvc")
    hostile.username = "=cmd|' /C calc'!A0"
    audit.record("@login_succeeded", actor=hostile, step="-1+1", details={"note": "=1+1"})
    db.session.commit()
    login(client, "admin")
    resp = client.get("/admin/audit.csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    [row] = [r for r in rows[1:] if r[4] == "'@login_succeeded"]
    assert row[2] == "'=cmd|' /C calc'!A0" and row[5] == "'-1+1"
    assert row[7] == '{"note": "=1+1"}'  # JSON starts with "{": unchanged
    for r in rows[1:]:
        assert not any(field.startswith(spreadsheet_text.FORMULA_TRIGGERS) for field in r), r
