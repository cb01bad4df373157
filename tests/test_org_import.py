"""`flask import-org` at scale: bulk upserts, an unchanged file writes nothing, one checked e-mail address
per person, passwords people set survive, no password on a terminal or in a log, transfers with dates."""

from __future__ import annotations

import json
import logging
import time
from datetime import date

import pytest
from sqlalchemy import event, func, select, text

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, Membership, Unit, User
from app.services.evaluation import cycles
from app.services.organisation import accounts, orgimport
from app.services.errors import Invalid
from bench.orgfile import city_file

from .conftest import PASSWORD, PERIOD, csrf_token, user
from .test_pages import login


def _cli(ctx, *args):
    return ctx.test_cli_runner().invoke(args=list(args))


class Writes:
    """The INSERT/UPDATE/DELETE statements sent to the database while it is open."""

    def __init__(self):
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, params, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(statement)

    def on(self, table: str) -> list[str]:
        return [s for s in self.statements if f" {table} " in s or f" {table}(" in s or f"INTO {table} " in s]


def _row_versions() -> dict:
    """PostgreSQL: each row's xmin, which any UPDATE changes; SQLite: the rows themselves."""
    if db.engine.dialect.name == "postgresql":
        return dict(db.session.execute(text("SELECT id, xmin::text FROM users")).all())
    return {r[0]: tuple(r) for r in db.session.execute(text("SELECT * FROM users")).all()}


def test_a_few_thousand_people_fast_and_an_unchanged_file_writes_nothing(ctx, tmp_path):
    path = tmp_path / "city.json"
    shape = city_file(path, 3000, 60)
    before = db.session.scalar(select(func.count()).select_from(User))
    began = time.perf_counter()
    result = _cli(ctx, "import-org", "--no-progress", str(path))
    took = time.perf_counter() - began
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == before + shape["people"]
    assert took < 60, f"{shape['people']} people took {took:.1f} s"
    head = db.session.scalars(select(Unit).where(Unit.code == "HN-A001-D01")).one().head
    staff = db.session.scalars(select(User).where(User.unit_id == head.unit_id, User.id != head.id)).first()
    assert staff.manager_id == head.id and head.manager.unit.code == "HN-A001"
    assert staff.email.endswith("@hna001.hanoi.gov.vn") and staff.password_hash == ""
    assert accounts.sign_in(staff.username, "").user is None  # no usable password until activation

    versions = _row_versions()
    with Writes() as writes:
        again = orgimport.import_org(orgimport.read_file(path))
    assert again["people_unchanged"] == shape["people"] and again["people_updated"] == 0
    assert writes.on("users") == [] and writes.on("units") == [], writes.statements
    assert _row_versions() == versions


def test_progress_is_a_line_every_5_percent_when_not_a_terminal(ctx, tmp_path):
    path = tmp_path / "city.json"
    city_file(path, 2000, 40)
    result = _cli(ctx, "import-org", "--progress", str(path))  # the runner's stderr is no terminal
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("city.json:")]
    assert 15 <= len(lines) <= 25 and lines[-1].endswith("(100%)")


@pytest.mark.parametrize(
    "address",
    ["cv@acc.example.vn, evil@example.com", "Tên <cv@acc.example.vn>", "cv@acc", "cv acc@example.vn", "cv@@example.vn"],
)
def test_a_bad_email_row_is_refused_with_its_number_and_nothing_is_imported(ctx, tmp_path, address):
    people = [
        {"username": f"moi{i}", "full_name": f"Người Mới {i}", "unit": "SNV-TCCB", "email": f"moi{i}@snv.hanoi.gov.vn"}
        for i in range(1, 5)
    ]
    people[2]["email"] = address
    path = tmp_path / "org.json"
    path.write_text(json.dumps({"people": people}, ensure_ascii=False), encoding="utf-8")
    count = db.session.scalar(select(func.count()).select_from(User))
    result = _cli(ctx, "import-org", str(path))
    assert result.exit_code != 0
    assert "people dòng 3" in result.output and "e-mail" in result.output
    assert "people dòng 1" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == count


def test_one_address_is_stored_normalized(ctx):
    orgimport.import_org(
        {
            "people": [
                {"username": "moi", "full_name": "Người Mới", "unit": "SNV-TCCB", "email": " moi@SNV.Hanoi.gov.vn "}
            ]
        }
    )
    assert user("moi").email == "moi@snv.hanoi.gov.vn"


def test_a_password_a_person_set_survives_a_reimport(ctx):
    row = {"username": "moi", "full_name": "Người Mới", "unit": "SNV-TCCB", "password": "TuFile@12345"}
    orgimport.import_org({"people": [row]})
    assert user("moi").check_password("TuFile@12345")  # a person without a password takes the file's
    accounts.change_password(user("moi"), "TuFile@12345", "CuaToi@98765", "CuaToi@98765")
    orgimport.import_org({"people": [dict(row, full_name="Người Mới Đổi Tên", password="KhacHan@5555")]})
    moved = user("moi")
    assert moved.full_name == "Người Mới Đổi Tên"
    assert moved.check_password("CuaToi@98765") and not moved.check_password("KhacHan@5555")
    assert user("ttb").check_password(PASSWORD)  # the demo's people too


def test_no_password_reaches_a_terminal_or_a_log(ctx, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "org.csv"
    path.write_text(
        "username,full_name,email,unit,position_group,manager,roles,password\n"
        "csv1,Trịnh Văn Sê,csv1@snv.hanoi.gov.vn,SNV-TCCB,staff,tptc,,BiMat@2468x\n"
        "csv2,Lý Thị Hai,,SNV-TCCB,staff,tptc,,\n",
        encoding="utf-8",
    )
    result = _cli(ctx, "import-org", str(path))
    assert result.exit_code == 0, result.output
    out = capsys.readouterr()
    for where in (result.output, out.out, out.err, caplog.text):
        assert "BiMat@2468x" not in where and "password_hash" not in where
    assert user("csv1").check_password("BiMat@2468x") and user("csv2").password_hash == ""


def test_manager_loops_and_unknown_units_refuse_the_file(ctx):
    with pytest.raises(Invalid) as caught:
        orgimport.import_org(
            {"people": [{"username": "tptc", "full_name": "Trưởng phòng", "unit": "SNV-TCCB", "manager": "ttb"}]}
        )
    assert "vòng lặp" in caught.value.message
    assert user("tptc").manager.username != "ttb"


@pytest.mark.parametrize("moved_on_day, evaluating_unit", [(20, "SNV-CCVC"), (5, "SNV-TCCB")])
def test_a_changed_unit_with_a_date_is_a_transfer(ctx, tmp_path, moved_on_day, evaluating_unit):
    """hve works in SNV-CCVC; the file moves them to SNV-TCCB from day X of the month: the month goes to
    the unit where they worked the most days, and the earlier unit is kept in the history."""
    hve = user("hve")
    row = {
        "username": "hve",
        "full_name": hve.full_name,
        "email": hve.email,
        "unit": "SNV-TCCB",
        "unit_from": f"{PERIOD}-{moved_on_day:02d}",
        "position_group": hve.position_group,
        "manager": "tptc",
    }
    result = orgimport.import_org({"people": [row]})
    assert result["transfers"] == 1
    assert user("hve").unit.code == "SNV-TCCB"
    spans = db.session.scalars(select(Membership).where(Membership.user_id == hve.id).order_by(Membership.start)).all()
    assert [(m.unit.code, m.end) for m in spans] == [("SNV-CCVC", date(2030, 3, moved_on_day - 1)), ("SNV-TCCB", None)]
    event_ = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "transferred")).one()
    assert event_.details["effective"] == f"{PERIOD}-{moved_on_day:02d}" and event_.details["source"] == "import"
    again = orgimport.import_org({"people": [row]})  # the same file again: nothing new
    assert again["transfers"] == 0 and again["people_unchanged"] == 1
    cycles.open_month("SNV", PERIOD, include_subunits=True)
    rec = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == hve.id)).one()
    assert rec.unit.code == evaluating_unit


def test_a_transfer_date_must_be_a_date(ctx):
    with pytest.raises(Invalid) as caught:
        orgimport.import_org(
            {"people": [{"username": "hve", "full_name": "X", "unit": "SNV-TCCB", "unit_from": "20/03/2030"}]}
        )
    assert "people dòng 1" in caught.value.details[0]["message"]


def test_the_transfer_page(ctx, client):
    login(client, "nva")  # HR officer of Sở Nội vụ
    page = client.get("/hr/transfers")
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    bad = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "hve", "unit": "SNV-TCCB", "on": "20-03-2030"}
    )
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    assert user("hve").unit.code == "SNV-CCVC"
    ok = client.post(
        "/hr/transfers", data={"csrf_token": token, "username": "hve", "unit": "SNV-TCCB", "on": "2030-03-05"}
    )
    assert ok.status_code == 302
    assert user("hve").unit.code == "SNV-TCCB"
    event_ = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "transferred")).one()
    assert event_.actor.username == "nva" and event_.details["effective"] == "2030-03-05"
    cycles.open_month("SNV", PERIOD, include_subunits=True)
    rec = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("hve").id)).one()
    assert rec.unit.code == "SNV-TCCB"


def test_only_hr_of_the_persons_agency_records_a_transfer(ctx, client):
    login(client, "tptc")
    assert client.get("/hr/transfers").status_code == 403
    page = client.get("/login")
    resp = client.post(
        "/hr/transfers",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": "hve",
            "unit": "SNV-TCCB",
            "on": "2030-03-05",
        },
    )
    assert resp.status_code == 403 and user("hve").unit.code == "SNV-CCVC"
