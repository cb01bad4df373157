"""Attacks on the surface added with evidence, comments, work plans, activation and the HR pages: each
test failed (a 500, or a change that should have been refused) before its fix. docs/security.md lists them."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountToken, AuditEvent, Evidence

from .conftest import PERIOD, csrf_token
from .support import Api
from .test_evidence import PDF, PNG, _upload, month  # noqa: F401 — fixture
from .test_pages import login

# "²" and "٣" are digits to str.isdigit() but int() refuses them; the long one overflows the integer column
HOSTILE_IDS = ["²", "٣", "99999999999999999999", "-1", "1.0", " "]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.mark.parametrize("replaces", HOSTILE_IDS)
def test_a_hostile_replaces_id_on_the_record_page_is_a_404_and_stores_nothing(ctx, client, month, replaces):
    login(client, "ttb")
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    resp = client.post(f"/instances/{month}/evidence", content_type="multipart/form-data",
                       data={"csrf_token": token, "replaces": replaces, "file": (io.BytesIO(PDF), "a.pdf")})
    assert resp.status_code == (302 if replaces == " " else 404)     # blank: no replacement asked
    assert _count(Evidence, Evidence.instance_id == month) == (1 if replaces == " " else 0)


def test_only_the_uploader_replaces_a_file(ctx, client, month):
    mine = _upload(Api(client, "ttb"), month, PDF, "bien-ban.pdf").get_json()
    login(client, "tptc")                                   # the manager is in the chain and writes, but not over it
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    resp = client.post(f"/instances/{month}/evidence", content_type="multipart/form-data",
                       data={"csrf_token": token, "replaces": str(mine["id"]), "file": (io.BytesIO(PNG), "khac.png")})
    assert resp.status_code == 403
    assert _count(Evidence, Evidence.instance_id == month) == 1
    assert db.session.get(Evidence, mine["id"]).replaced_by_id is None
    assert _count(AuditEvent, AuditEvent.action == "evidence_replaced") == 0

    login(client, "ttb")                                    # the uploader still may
    token = csrf_token(client.get(f"/instances/{month}").get_data(as_text=True))
    resp = client.post(f"/instances/{month}/evidence", content_type="multipart/form-data",
                       data={"csrf_token": token, "replaces": str(mine["id"]), "file": (io.BytesIO(PNG), "moi.png")})
    assert resp.status_code == 302
    assert db.session.get(Evidence, mine["id"]).replaced_by_id is not None


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_ticked_ids_on_the_hr_activation_page_choose_nobody(ctx, client, value):
    login(client, "nva")
    token = csrf_token(client.get("/hr/activation").get_data(as_text=True))
    codes = client.post("/hr/activation/codes", data={"csrf_token": token, "user_id": [value]})
    assert codes.status_code == 422                         # "choose at least one person"
    mail = client.post("/hr/activation/mail", data={"csrf_token": token, "user_id": [value]})
    assert mail.status_code == 302
    assert _count(AccountToken) == 0


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_ticked_ids_on_the_inbox_and_the_decision_page_are_no_500(ctx, client, value):
    login(client, "tptc")
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/tasks/take-as-proposed", data={"csrf_token": token, "task_id": [value]}).status_code == 302
    login(client, "gd")
    token = csrf_token(client.get("/decisions").get_data(as_text=True))
    resp = client.post("/decisions", data={"csrf_token": token, "unit": "SNV", "period": PERIOD,
                                           "instance_id": [value]})
    assert resp.status_code < 500


def test_the_hr_list_refuses_a_limit_that_is_not_ascii_digits(ctx, client):
    login(client, "nva")
    for limit in ("²", "٣٣"):
        resp = client.get("/dashboard/evaluations", query_string={"limit": limit})
        assert resp.status_code == 400 and "limit" in resp.get_data(as_text=True)
