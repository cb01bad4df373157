"""Administrators edit the calendar, the schemes and delegations in the browser pages."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, CalendarDay, Delegation, Scheme

from .conftest import csrf_token
from .test_pages import login


def post(client, path, data):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data=dict(data, csrf_token=csrf_token(page.get_data(as_text=True))))


def test_only_admins_reach_the_admin_pages(client):
    login(client, "ttb")
    for path in ("/admin/calendar", "/admin/schemes", "/admin/schemes/hanoi-monthly/edit"):
        resp = client.get(path)
        assert resp.status_code == 403 and "không có quyền" in resp.get_data(as_text=True)
    assert client.get("/admin/delegations").status_code == 200  # everyone may delegate their own authority


def test_calendar_page_adds_and_refuses_bad_days(client):
    login(client, "admin")
    assert post(client, "/admin/calendar", {"day": "2030-04-06", "kind": "work", "note": "Làm bù"}).status_code == 302
    assert db.session.scalars(select(CalendarDay)).one().kind == "work"
    bad = post(client, "/admin/calendar", {"day": "06/04/2030", "kind": "work"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    dup = post(client, "/admin/calendar", {"day": "2030-04-06", "kind": "off"})
    assert dup.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 1


def test_scheme_edit_page_makes_a_new_version(client):
    login(client, "admin")
    page = client.get("/admin/schemes/hanoi-monthly/edit").get_data(as_text=True)
    assert 'name="staff-4-max" value="25"' in page
    fields = {}
    import re

    for name, value in re.findall(
        r'name="((?:staff|leader|contract)-\d+-(?:code|group|name|max))" value="([^"]*)"', page
    ):
        fields[name] = value
    fields.update({"staff-4-max": "30", "staff-5-max": "20", "effective_from": "2030-05"})
    saved = post(client, "/admin/schemes/hanoi-monthly/edit", fields)
    assert saved.status_code == 302
    new = db.session.scalars(select(Scheme).where(Scheme.code == "hanoi-monthly", Scheme.version == 2)).one()
    assert [c["max"] for c in new.definition["criteria"]["staff"]][4:] == [30, 20, 20]
    fields["staff-4-max"] = "40"
    refused = post(client, "/admin/schemes/hanoi-monthly/edit", fields)
    assert refused.status_code == 422 and "nhóm II phải là 70" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Scheme).where(Scheme.code == "hanoi-monthly")) == 2


def test_delegation_page(client):
    login(client, "gd")
    start, end = date.today().isoformat(), (date.today() + timedelta(days=5)).isoformat()
    ok = post(client, "/admin/delegations", {"deputy": "tpcc", "start": start, "end": end, "reason": "Công tác"})
    assert ok.status_code == 302
    row = db.session.scalars(select(Delegation)).one()
    assert row.principal.username == "gd" and row.deputy.username == "tpcc"
    bad = post(client, "/admin/delegations", {"deputy": "tpcc", "start": end, "end": start})
    assert bad.status_code == 422 and "sau ngày bắt đầu" in bad.get_data(as_text=True)
    self_deleg = post(client, "/admin/delegations", {"deputy": "gd", "start": start, "end": end})
    assert self_deleg.status_code == 422
    # a non-admin cannot delegate someone else's authority: the principal is always themself
    post(client, "/admin/delegations", {"principal": "chutich", "deputy": "ttb", "start": start, "end": end})
    assert {d.principal.username for d in db.session.scalars(select(Delegation))} == {"gd"}
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "delegation_created"))
        == 2
    )


def test_admin_exports_the_audit_log_and_others_cannot(client):
    import csv
    import io

    login(client, "ttb")
    assert client.get("/admin/audit.csv").status_code == 403
    login(client, "admin")
    resp = client.get("/admin/audit.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["id", "thoi_diem_utc", "nguoi_thuc_hien", "thay_mat", "hanh_dong"]
    assert ["login_succeeded", "admin"] in [[r[4], r[5]] for r in rows[1:]]
    assert client.get("/admin/audit.csv?from=2030-13-01").status_code == 400


def test_the_app_has_no_way_to_change_or_delete_audit_events():
    import pathlib
    import re

    source = "\n".join(p.read_text() for p in pathlib.Path("app").rglob("*.py"))
    assert not re.search(r"(update|delete)\(\s*AuditEvent", source)
    assert not re.search(r"session\.delete\([^)]*(event|audit)", source, re.I)
