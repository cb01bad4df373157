"""Issue 12 §3: hostile JSON (deep nesting, NaN, Infinity, numbers that overflow) is refused with a
400 naming where it is, before anything parses further, on every endpoint that reads JSON; form data
that overflows is a field error (422 on the task page), never a 500; nothing is written."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app import forms, strict_json
from app.extensions import db
from app.models import AuditEvent, OutgoingMail, TaskDraft

from .conftest import PERIOD, csrf_token
from .monitor_seed import instance_id, open_month, ready_task
from .support import Api
from .test_designer import json_token, new_draft
from .test_hostile_input import _schema
from .test_pages import login

DEEP = "[" * 50_000 + "]" * 50_000
BODIES = {
    "50,000 nested arrays": DEEP,
    "65 nested objects": '{"a":' * 65 + "1" + "}" * 65,
    "NaN": '{"data": {"bonus": NaN}, "reason": NaN, "username": NaN}',
    "Infinity": '{"data": {"bonus": Infinity}, "reason": "x", "items": [{"instance_id": Infinity}]}',
    "-Infinity": '{"data": {"scores": {"I.1": -Infinity}}, "password": -Infinity}',
    "1e999": '{"data": {"bonus": 1e999}, "hours": 1e999}',
    "-1e999 in a score": '{"data": {"scores": {"II.1": -1e999}}, "days": -1e999}',
    "an integer of 400 digits": '{"data": {"bonus": 1' + "0" * 400 + '}, "after": 1' + "0" * 400 + "}",
    "an integer of 5,000 digits": '{"data": {"bonus": ' + "9" * 5000 + "}}",
}


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _written() -> tuple[int, int, int]:
    return _count(AuditEvent), _count(OutgoingMail), _count(TaskDraft)


# ------------------------------------------------------------------------------------------ parser
def test_the_parser_refuses_what_json_loads_lets_through():
    assert strict_json.loads('{"a": [1, 2.5, "[[[[", {"b": null}]}') == {"a": [1, 2.5, "[[[[", {"b": None}]}
    assert strict_json.loads("[" * 64 + "]" * 64) is not None  # the limit itself is fine
    assert strict_json.depth('["[[[[", {"x": "]]]{{"}]') == 2  # brackets in strings do not count
    assert strict_json.depth('"\\"[[["') == 0
    with pytest.raises(strict_json.Refused, match="nested too deeply"):
        strict_json.loads("[" * 65 + "]" * 65)
    with pytest.raises(strict_json.Refused, match="nested too deeply"):
        strict_json.loads(DEEP.encode())  # bytes too, no RecursionError
    for text, place in (
        ('{"a": NaN}', "/a"),
        ("[1, Infinity]", "/1"),
        ('{"x/y": {"s": -Infinity}}', "/x~1y/s"),
        ('{"a": 1e999}', "/a"),
        ('{"a": -1e400}', "/a"),
        ('{"a": 1' + "0" * 400 + "}", "/a"),
        ("9" * 5000, "/"),
    ):
        with pytest.raises(strict_json.Refused) as refused:
            strict_json.loads(text)
        assert refused.value.places == [place]
    with pytest.raises(ValueError):
        strict_json.loads('{"a": ')  # plain bad JSON stays a ValueError


@pytest.mark.parametrize(
    "bad",
    [float("inf"), float("-inf"), float("nan"), 10**400, -(10**400)],
    ids=["inf", "-inf", "nan", "10**400", "-10**400"],
)
def test_form_validation_reports_an_unusable_number_as_a_field_error(bad):
    schema = _schema("self_evaluation.json")
    data = {"scores": {"I.1": bad, "II.1": 20}, "bonus": bad, "deductions": [{"points": bad, "reason": "x"}]}
    errors = forms.validate(schema, data)  # never raises (jsonschema's multipleOf used to)
    fields = {e.field for e in errors if "không phải là một số hợp lệ" in e.message}
    assert {"scores[I.1]", "bonus", "deductions[0][points]"} <= fields
    assert all(e.message_en for e in errors)


# --------------------------------------------------------------------------------------------- API
def _api_posts(app) -> list[str]:
    return sorted(
        r.rule
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/") and {"POST", "PUT", "PATCH"} & r.methods
    )


@pytest.mark.parametrize("label", BODIES)
def test_every_api_endpoint_refuses_hostile_json_with_400(client, label):
    hr = open_month(client)
    ids = {"task_id": ready_task("ttb").id, "instance_id": instance_id("ttb")}
    body = BODIES[label]
    before = _written()
    rules = _api_posts(client.application)
    assert "/api/v1/tasks/<int:task_id>/complete" in rules and len(rules) >= 12
    for rule in rules:
        path = re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule)
        for headers in ({}, hr.headers):  # refused before the token is even looked at
            resp = client.post(path, data=body, content_type="application/json", headers=headers)
            assert resp.status_code == 400, (rule, label, resp.status_code, resp.get_data(as_text=True)[:300])
            out = resp.get_json()
            assert out["error"] == "bad_request" and out["message"] and out["message_en"]
    assert _written() == before  # nothing written, not even a failed sign-in


def test_the_refusal_names_the_field(client):
    hr = open_month(client)
    task = ready_task("ttb")
    resp = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        data='{"data": {"bonus": 1e999, "scores": {"I.1": NaN}}}',
        content_type="application/json",
        headers=hr.headers,
    )
    assert resp.status_code == 400
    out = resp.get_json()
    assert [d["field"] for d in out["details"]] == ["/data/bonus", "/data/scores/I.1"]
    assert "/data/bonus: Not a valid number" in out["details"][0]["message_en"]


# ------------------------------------------------------------------------------- the app's own JSON
@pytest.mark.parametrize("label", ["50,000 nested arrays", "NaN", "1e999", "an integer of 5,000 digits"])
def test_the_pages_json_endpoints_refuse_hostile_json(client, label):
    body = BODIES[label]
    login(client, "admin")
    draft_id = new_draft(client)
    token = {"X-CSRFToken": json_token(client, draft_id)}
    before = _written()
    for method, path in (
        ("put", f"/designer/drafts/{draft_id}/files/review.json"),
        ("post", f"/designer/drafts/{draft_id}/validate.json"),
        ("post", f"/designer/drafts/{draft_id}/test-run.json"),
        ("post", "/designer/forms/preview"),
    ):
        resp = getattr(client, method)(path, data=body, content_type="application/json", headers=token)
        assert resp.status_code == 400, (path, resp.status_code, resp.get_data(as_text=True)[:300])
        assert resp.get_json()["message_en"]
    assert _written() == before
    login(client, "nva")
    page = client.get("/months/open").get_data(as_text=True)
    before = _written()
    resp = client.post(
        "/months/open/step", data=body, content_type="application/json", headers={"X-CSRFToken": csrf_token(page)}
    )
    assert resp.status_code == 400 and resp.get_json()["error"] == "bad_request"
    assert _written() == before


def test_the_designers_autosave_refuses_a_revision_that_is_not_a_whole_number(client):
    login(client, "admin")
    draft_id = new_draft(client)
    token = {"X-CSRFToken": json_token(client, draft_id)}
    for revision in ("abc", [1], {"a": 1}, 1.5, True):
        resp = client.put(
            f"/designer/drafts/{draft_id}/files/review.json", json={"text": "{}", "revision": revision}, headers=token
        )
        assert resp.status_code == 400, (revision, resp.status_code)
        assert resp.get_json()["details"][0]["field"] == "revision"


def test_a_form_file_with_nan_or_deep_nesting_is_a_finding_not_a_crash(client):
    login(client, "admin")
    draft_id = new_draft(client)
    token = {"X-CSRFToken": json_token(client, draft_id)}
    for text in (
        '{"type": "object", "properties": {"bonus": {"type": "number", "maximum": NaN}}}',
        '{"type": "object", "x": ' + "[" * 5000 + "]" * 5000 + "}",
    ):
        resp = client.post("/designer/forms/preview", json={"name": "x.json", "text": text}, headers=token)
        assert resp.status_code == 200 and resp.get_json()["html"] == "" and resp.get_json()["errors"]
        with pytest.raises(forms.FormError):
            forms.load_form({"x.json": text}, "x.json")


# ---------------------------------------------------------------------------------------- HTML forms
def test_the_task_page_and_its_autosave_take_a_huge_number_as_a_field_error(client):
    open_month(client)
    task = ready_task("ttb")
    login(client, "ttb")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    huge = "1" + "0" * 400  # float() makes it infinity
    form = {"csrf_token": csrf_token(page), "scores[I.1]": huge, "bonus": huge, "comment": "x"}
    before = _written()
    resp = client.post(f"/tasks/{task.id}/draft", data=form)  # the autosave keeps what was typed
    assert resp.status_code == 200
    draft = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).one()
    assert draft.data["bonus"] == huge and json.dumps(draft.data, allow_nan=False)
    resp = client.post(f"/tasks/{task.id}", data=form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert html.count("phải là một số") >= 2  # next to the score and to the bonus
    db.session.expire_all()
    assert ready_task("ttb").id == task.id  # not completed
    assert _written()[:2] == before[:2]  # no audit event, no mail


@pytest.mark.parametrize("typed", ["1e999", "nan", "inf", "-Infinity", "1" + "0" * 400])
def test_the_scheme_page_takes_an_unusable_maximum_as_a_field_error(client, typed):
    login(client, "admin")
    page = client.get("/admin/schemes/hanoi-monthly/edit").get_data(as_text=True)
    fields = dict(re.findall(r'name="((?:staff|leader|contract)-\d+-(?:code|group|name|max))" value="([^"]*)"', page))
    fields.update({"staff-4-max": typed, "effective_from": "2030-05", "csrf_token": csrf_token(page)})
    before = _written()
    resp = client.post("/admin/schemes/hanoi-monthly/edit", data=fields)
    assert resp.status_code == 422
    assert "Điểm tối đa phải dương, bước 0,5." in resp.get_data(as_text=True)
    assert _written() == before


@pytest.mark.parametrize("typed", ["nan", "inf", "1e999", "abc", "²", "9" * 30, "-1"])
def test_a_row_button_posting_a_bad_id_is_a_400(client, typed):
    from .test_admin import post

    login(client, "admin")
    before = _written()
    assert post(client, "/admin/calendar", {"delete": typed}).status_code == 400
    assert post(client, "/admin/delegations", {"revoke": typed}).status_code == 400
    assert _written() == before


@pytest.mark.parametrize("bad_id", [2**31, 2**40, -1, 0])
def test_an_id_beyond_the_database_integers_is_a_400_not_an_overflow(client, bad_id):
    """PostgreSQL's integer stops at 2**31 - 1: a larger id must be refused before it reaches a query."""
    open_month(client)
    head = Api(client, "gd")
    before = _written()
    resp = head.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": bad_id, "level": "A"}]})
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert _written() == before
