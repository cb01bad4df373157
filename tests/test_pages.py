"""The month through the HTML pages (Flask test client, CSRF on): login, open month, forms with
errors next to the fields, review, batch decision, appeal, history."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask
from app.services.evaluation import timers

from .conftest import PERIOD, csrf_token, later, user
from .support import LEADER, STAFF


def login(client, username):
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": username, "password": "DanhGia@2026", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def logout(client):
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def task_link(client, step, subject):
    html = client.get("/").get_data(as_text=True)
    subject_name = user(subject).full_name
    rows = re.findall(
        r'<tr data-step="([^"]+)"[^>]*>\s*<td[^>]*><a href="(/tasks/\d+)">[^<]*</a></td>\s*<td[^>]*>([^<]*)</td>', html
    )
    found = [href for s, href, name in rows if s == step and name == subject_name]
    assert len(found) == 1, (step, subject, rows)
    return found[0]


def score_fields(total, leader=False):
    deficit, out = 90 - total, {}
    for code, maximum in LEADER if leader else STAFF:
        take = min(maximum, max(deficit, 0))
        out[f"scores[{code}]"] = str(maximum - take).replace(".", ",")
        deficit -= take
    return out


def submit(client, href, fields):
    page = client.get(href)
    assert page.status_code == 200
    return client.post(href, data=dict(fields, csrf_token=csrf_token(page.get_data(as_text=True))))


def test_month_through_the_pages(client):
    assert client.get("/").status_code == 302  # signed out → login
    bad = client.post(
        "/login",
        data={
            "username": "nva",
            "password": "sai",
            "csrf_token": csrf_token(client.get("/login").get_data(as_text=True)),
        },
    )
    assert bad.status_code == 401 and "không đúng" in bad.get_data(as_text=True)

    login(client, "nva")
    page = client.get("/months/open")
    resp = client.post(
        "/months/open",
        data={"unit": "SNV-TCCB", "period": PERIOD, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    # post/redirect/get: the outcome is shown on the page's own address, never on the POST
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/months/open")
    assert "5 hồ sơ mới" in client.get("/months/open").get_data(as_text=True)
    resp = client.post(
        "/months/open",
        data={"unit": "SNV-TCCB", "period": "2030-3", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert resp.status_code == 302
    html = client.get("/months/open").get_data(as_text=True)
    # the bad period is said next to its field, and kept as typed
    assert re.search(r'<p class="field-error" id="period-error">[^<]*YYYY-MM', html)
    assert 'value="2030-3"' in html and 'aria-invalid="true"' in html
    logout(client)

    # self-evaluations: an error is shown next to the field and nothing is stored
    login(client, "ttb")
    href = task_link(client, "self_evaluation", "ttb")
    form_html = client.get(href).get_data(as_text=True)
    assert 'name="scores[II.1]"' in form_html and 'max="25"' in form_html
    wrong = submit(client, href, dict(score_fields(85), **{"scores[I.1]": "7", "bonus": "1"}, comment="Thử"))
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert re.search(r'id="f-scores-I-1-error"[^>]*><span class="error-message">[^<]*tối đa', html), (
        "error not next to I.1"
    )
    assert 'id="f-bonus_reason-error"' in html and "Thử</textarea>" in html  # what was typed is kept
    assert (
        db.session.scalars(
            select(HumanTask).where(HumanTask.task_uuid.isnot(None), HumanTask.id == int(href.rsplit("/", 1)[1]))
        )
        .one()
        .status
        == "ready"
    )
    ok = submit(client, href, dict(score_fields(85), comment="Hoàn thành tốt nhiệm vụ được giao 😊"))
    assert ok.status_code == 302
    logout(client)
    for name in ("nva", "lvc", "ptd", "tptc"):
        login(client, name)
        submit(client, task_link(client, "self_evaluation", name), score_fields(80, name == "tptc"))
        logout(client)

    # reviews by the division leader (and by the head for the leader)
    login(client, "tptc")
    href = task_link(client, "review", "ttb")
    review_page = client.get(href).get_data(as_text=True)
    assert "Hoàn thành tốt nhiệm vụ được giao 😊" in review_page  # the self-evaluation, read-only
    assert client.post(href, data=dict(score_fields(88), days_worked="21")).status_code == 302  # no CSRF token: back
    assert submit(client, href, dict(score_fields(88), days_worked="21", proposed_level="B")).status_code == 302
    for name, total in (("nva", 95), ("lvc", 75), ("ptd", 55)):
        assert (
            submit(client, task_link(client, "review", name), dict(score_fields(total), days_worked="21")).status_code
            == 302
        )
    logout(client)
    login(client, "gd")
    assert (
        submit(
            client, task_link(client, "review_by_decider", "tptc"), dict(score_fields(90, True), days_worked="21")
        ).status_code
        == 302
    )

    # the head decides the batch: two A's among 5 people (cap 1) is refused, then one is lowered
    page = client.get("/decisions").get_data(as_text=True)
    ids = re.findall(r'name="instance_id" value="(\d+)"', page)
    assert len(ids) == 5
    fields = {"unit": "SNV", "period": PERIOD, "instance_id": ids, "csrf_token": csrf_token(page)}
    refused = client.post("/decisions", data=fields)
    assert refused.status_code == 422 and "tối đa 1" in refused.get_data(as_text=True)
    tptc_id = str(
        db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("tptc").id))
        .one()
        .instance_id
    )
    fields.update({f"level_{tptc_id}": "B", f"reason_{tptc_id}": "Bảo đảm tỷ lệ"})
    assert client.post("/decisions", data=fields).status_code == 302
    logout(client)

    # ttb sees the result and appeals; the head keeps it; the record locks
    login(client, "ttb")
    record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id)).one()
    inst_page = client.get(f"/instances/{record.instance_id}").get_data(as_text=True)
    assert "88" in inst_page and "Hoàn thành tốt nhiệm vụ" in inst_page and 'id="appeal"' in inst_page
    short = client.post(
        f"/instances/{record.instance_id}/appeal", data={"reason": "ngắn", "csrf_token": csrf_token(inst_page)}
    )
    # post/redirect/get: the refusal lands on the record's own address, the reason as typed, the error next to it
    assert short.status_code == 302 and short.headers["Location"] == f"/instances/{record.instance_id}#appeal"
    again = client.get(f"/instances/{record.instance_id}").get_data(as_text=True)
    assert re.search(r'id="f-reason-error"', again) and re.search(r">\s*ngắn</textarea>", again)
    assert 'id="f-reason-error"' not in client.get(f"/instances/{record.instance_id}").get_data(as_text=True)
    sent = client.post(
        f"/instances/{record.instance_id}/appeal",
        data={"reason": "Đề nghị xem xét lại điểm chất lượng công việc", "csrf_token": csrf_token(inst_page)},
    )
    assert sent.status_code == 302
    assert client.get(f"/instances/{user('nva').id}").status_code in (403, 404)
    logout(client)
    login(client, "gd")
    assert (
        submit(
            client,
            task_link(client, "appeal_decision", "ttb"),
            {"outcome": "keep", "reason": "Điểm đã phản ánh đúng kết quả"},
        ).status_code
        == 302
    )
    history = client.get(f"/instances/{record.instance_id}").get_data(as_text=True)
    for action in ("instance_started", "task_completed", "appeal_submitted", "published"):
        assert f'data-action="{action}"' in history
    db.session.expire_all()
    assert record.status == "locked" and record.level == "B" and record.total == 88
    timers.run_due(later(30))
    report = client.get(f"/reports/monthly?unit=SNV-TCCB&period={PERIOD}", follow_redirects=True).get_data(as_text=True)
    assert "Trần Thị Bình" in report and "Đã chốt" in report


def test_instance_diagram_marks_completed_and_active_elements(client):
    login(client, "nva")
    page = client.get("/months/open")
    client.post(
        "/months/open",
        data={"unit": "SNV-TCCB", "period": PERIOD, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    submit(client, task_link(client, "self_evaluation", "nva"), score_fields(80))
    record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("nva").id)).one()
    data = client.get(f"/instances/{record.instance_id}/diagram.json").get_json()
    assert 'id="self_evaluation"' in data["xml"]
    assert {"init", "self_evaluation", "self_evaluation_total"} <= set(data["completed"])
    assert "review" in data["active"] and "self_evaluation" not in data["active"]
    logout(client)
    login(client, "hve")  # another division's staff
    assert client.get(f"/instances/{record.instance_id}/diagram.json").status_code == 403
    assert client.get(f"/instances/{record.instance_id}").status_code == 403
