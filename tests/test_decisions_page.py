"""The decision page without a browser: what the server renders for decisions.js (the quota rule, both
caps, the A's and B's decided before outside the batch) and the warning it shows without JavaScript."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord
from app.services.evaluation import decisions

from .conftest import PERIOD, user
from .support import Api, scores_for
from .test_pages import login


def _record(username):
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == PERIOD
        )
    ).one()


def _to_decision(client, totals):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    for name in totals:
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80, name == "tptc"))
    for name, total in totals.items():
        reviewer = Api(client, "gd" if name == "tptc" else "tptc")
        task = next(t for t in reviewer.tasks() if t["step"].startswith("review") and t["subject"]["username"] == name)
        reviewer.complete(task["id"], dict(scores_for(total, name == "tptc"), days_worked=21))


def _attrs(html):
    article = re.search(r'<article class="decision-batch"[^>]*>', html, re.S).group(0)
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', article))


def test_page_renders_the_quota_for_the_live_counter_and_warns_without_js(client):
    _to_decision(client, {"nva": 95, "ttb": 92, "lvc": 80, "ptd": 75, "tptc": 85})
    # the head decides nva (A) and lvc (B) first; the other three stay in the batch
    gd = Api(client, "gd")
    first = [{"instance_id": _record(n).instance_id} for n in ("nva", "lvc")]
    assert gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": first}).status_code == 200

    login(client, "gd")
    html = client.get("/decisions").get_data(as_text=True)
    attrs = _attrs(html)
    assert {k: attrs[k] for k in ("rule", "evaluated", "cap", "cap-exceptional", "others-a", "others-b")} == {
        "rule": "share_of_evaluated",
        "evaluated": "5",
        "cap": "1",
        "cap-exceptional": "2",
        "others-a": "1",
        "others-b": "1",
    }
    assert (float(attrs["share"]), float(attrs["exceptional-share"])) == (0.3, 0.4)
    assert attrs["warning"] == "Vượt tỷ lệ: {count} người loại A, tối đa {cap}."
    # nva's A counts with ttb's: 2 > 1, said in words by the server, without JavaScript
    assert re.search(r'<strong class="quota-count">2</strong>', html)
    assert 'id="quota-warning-1"><span aria-hidden="true">⚠</span>' in html
    assert "Vượt tỷ lệ: 2 người loại A, tối đa 1." in html
    assert re.search(r'<p class="submit-hint" id="submit-hint-1">Sẽ bị từ chối nếu gửi: 2 người loại A', html)
    assert 'aria-describedby="submit-hint-1"' in html and 'aria-live="polite"' in html
    assert 'src="/static/decisions.js"' in html and "<script>" not in html  # CSP: no inline script
    # raw numbers for sorting next to the formatted ones
    ttb_row = re.search(r'<tr data-level="A" data-instance="%d">.*?</tr>' % _record("ttb").instance_id, html, re.S)
    assert ttb_row and 'data-sort="92.0">92</td>' in ttb_row.group(0)
    assert decisions.live_quota(_record("ttb").agency_id, PERIOD, {_record("ttb").instance_id: "A"})["others_a"] == 1

    # in English, the basis and the texts for the script are English
    client.get("/language/en?next=/decisions")
    html = client.get("/decisions").get_data(as_text=True)
    assert '<span class="quota-basis">30% of the 5 people evaluated</span>' in html
    assert _attrs(html)["warning"] == "Over the quota: {count} people at level A, at most {cap}."
    assert "Over the quota: 2 people at level A, at most 1." in html

    # the form still posts as before: refused while over (422, nothing decided), accepted once lowered
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    ids = re.findall(r'name="instance_id" value="(\d+)"', html)
    fields = {"unit": "SNV", "period": PERIOD, "instance_id": ids, "csrf_token": token}
    refused = client.post("/decisions", data=fields)
    assert refused.status_code == 422 and 'id="decision-error"' in refused.get_data(as_text=True)
    # refused again with choices made: the page comes back as the head left it, nothing is lost
    ptd, tptc = str(_record("ptd").instance_id), str(_record("tptc").instance_id)
    chosen = dict(
        fields,
        instance_id=[i for i in ids if i != ptd],
        **{f"level_{tptc}": "C", f"reason_{tptc}": "Chưa hoàn thành báo cáo quý — giữ lý do"},
    )
    page = client.post("/decisions", data=chosen)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and _record("tptc").published_at is None
    assert re.search(rf'name="instance_id" value="{ptd}" aria-label', html)  # still unticked
    assert re.search(rf'name="instance_id" value="{tptc}" checked', html)
    assert re.search(rf'<select name="level_{tptc}"[^>]*>.*?<option value="C" selected>', html, re.S)
    assert f'name="reason_{tptc}" value="Chưa hoàn thành báo cáo quý — giữ lý do"' in html
    ttb = str(_record("ttb").instance_id)
    # lowering a level without a reason: the row is marked, its reason field carries the error
    missing = client.post("/decisions", data=dict(fields, **{f"level_{ttb}": "B"}))
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422 and _record("ttb").published_at is None
    row = re.search(rf'<tr data-level="[A-D]" data-instance="{ttb}" class="row-error">.*?</tr>', html, re.S)
    assert row, "the row whose reason is missing is marked"
    assert re.search(
        rf'name="reason_{ttb}" value="" [^>]*aria-invalid="true" aria-describedby="reason-error-{ttb}"', row.group(0)
    )
    assert f'<p class="field-error" id="reason-error-{ttb}" role="alert">' in row.group(0)
    assert html.count('class="row-error"') == 1
    ok = client.post("/decisions", data=dict(fields, **{f"level_{ttb}": "B", f"reason_{ttb}": "Quota"}))
    assert ok.status_code == 302
    db.session.expire_all()
    assert _record("ttb").level == "B" and _record("ttb").published_at is not None


def test_the_head_scores_a_division_leader_from_the_decision_page_then_decides(client):
    """tptc's manager is gd: after tptc's self-evaluation the decision page lists tptc to score, the
    scoring form leads back to the page, and tptc joins the batch with the head's own score."""
    from .test_pages import score_fields, submit

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    tptc = Api(client, "tptc")
    tptc.complete(tptc.task_for("tptc", "self_evaluation")["id"], scores_for(86, True))
    login(client, "gd")
    html = client.get("/decisions").get_data(as_text=True)
    section = re.search(r'<section id="to-score".*?</section>', html, re.S).group(0)
    assert user("tptc").full_name in section and ">86<" in section
    href = re.search(r'href="(/tasks/\d+)"', section).group(1)
    assert "decision-batch" not in html  # nothing to decide yet
    english = client.get("/decisions?lang=en").get_data(as_text=True)
    assert "To score before the decision" in english and f"Score {user('tptc').full_name}" in english
    client.get("/decisions?lang=vi")
    resp = submit(client, href, dict(score_fields(90, True), days_worked="21"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/decisions")
    html = client.get("/decisions").get_data(as_text=True)
    assert 'id="to-score"' not in html
    row = re.search(rf'<tr data-level="A" data-instance="{_record("tptc").instance_id}"', html)
    assert row and _record("tptc").total == 90
