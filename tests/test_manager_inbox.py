"""Less typing for managers (issue 16, item 5): days worked prefilled with the month's working days,
returning for revision without days worked and said as a return, the inbox with self-scores, days left,
filters and a search, and taking several self-evaluations as proposed (one audited review each)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask
from app.rules.workdays import DEFAULT_CALENDAR
from app.services import inbox

from .conftest import csrf_token, user
from .monitor_seed import open_month, ready_task, record, self_evaluate
from .test_pages import login

WORKING_DAYS = DEFAULT_CALENDAR.working_days_in_month(2030, 3)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-step="[^"]+" data-task="(\d+)"', html)


def test_the_review_starts_with_the_months_working_days(client):
    open_month(client)
    self_evaluate(client, "ttb", 88)
    task = ready_task("ttb", "review")
    login(client, "tptc")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="days_worked"[^>]*>', html).group(0)
    assert f'value="{WORKING_DAYS}"' in box, box
    # submitted as it stands (scores prefilled from the self-evaluation, days prefilled): done
    form = {"csrf_token": csrf_token(html), "days_worked": str(WORKING_DAYS)}
    for name, value in re.findall(r'<input[^>]*name="(scores\[[^\]]+\])"[^>]*value="([^"]*)"', html):
        form[name] = value
    resp = client.post(f"/tasks/{task.id}", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert record("ttb").status == "decision"


def test_returning_for_revision_needs_no_days_worked_and_says_it_was_returned(client):
    open_month(client)
    self_evaluate(client, "ttb", 88)
    task = ready_task("ttb", "review")
    login(client, "tptc")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(html), "days_worked": "", "return_for_revision": "true",
            "revision_note": "Bổ sung minh chứng"}
    for name, value in re.findall(r'<input[^>]*name="(scores\[[^\]]+\])"[^>]*value="([^"]*)"', html):
        form[name] = value
    resp = client.post(f"/tasks/{task.id}", data=form, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Đã trả lại hồ sơ của" in page and "Đã hoàn thành" not in page
    assert ready_task("ttb").step == "self_evaluation"

    # without the return, days worked is still required
    self_evaluate(client, "ttb", 90)
    task = ready_task("ttb", "review")
    login(client, "tptc")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(html), "days_worked": ""}
    for name, value in re.findall(r'<input[^>]*name="(scores\[[^\]]+\])"[^>]*value="([^"]*)"', html):
        form[name] = value
    resp = client.post(f"/tasks/{task.id}", data=form)
    assert resp.status_code == 422
    assert ready_task("ttb").step == "review"


def test_the_inbox_shows_self_scores_days_left_and_overdue(client):
    open_month(client)
    for name, total in (("ttb", 88), ("nva", 91.5), ("lvc", 70)):
        self_evaluate(client, name, total)
    login(client, "tptc")
    html = client.get("/").get_data(as_text=True)
    ttb = ready_task("ttb")
    row = html[html.index(f'data-task="{ttb.id}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'class="num self-total">88<', row)
    assert "còn" in row and "ngày" in row and "quá hạn" not in row
    assert ">91,5<" in html                                     # Vietnamese number format

    # a review past its deadline is marked in words
    ttb.due_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    row = html[html.index(f'data-task="{ttb.id}"'):]
    assert re.search(r'<tr data-step="review" data-task="%d" class="overdue"' % ttb.id, html)
    assert "quá hạn" in row[:row.index("</tr>")]
    assert inbox.days_left(datetime(2030, 4, 5, 17, tzinfo=timezone.utc),
                           datetime(2030, 4, 3, 17, tzinfo=timezone.utc)) == 2


def test_the_inbox_filters_and_searches(client):
    open_month(client)
    for name in ("ttb", "nva", "lvc"):
        self_evaluate(client, name)
    ttb, nva, lvc = (ready_task(n) for n in ("ttb", "nva", "lvc"))
    nva.due_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    db.session.commit()
    login(client, "tptc")
    every = _rows(client.get("/").get_data(as_text=True))
    assert {str(ttb.id), str(nva.id), str(lvc.id)} <= set(every)

    def shown(query):
        resp = client.get("/?" + query)
        assert resp.status_code == 200
        return set(_rows(resp.get_data(as_text=True)))

    full_name = user("ttb").full_name
    assert shown("q=" + full_name) == {str(ttb.id)}
    assert shown("q=" + full_name.upper()) == {str(ttb.id)}             # case does not matter
    assert shown("overdue=1") == {str(nva.id)}
    reviews = shown("step=review")
    assert {str(ttb.id), str(nva.id), str(lvc.id)} <= reviews
    assert all(db.session.get(HumanTask, int(r)).step == "review" for r in reviews)
    assert shown(f"unit={ttb.unit.code}") == {r for r in every if db.session.get(HumanTask, int(r)).unit_id == ttb.unit_id}
    assert shown("unit=NO-SUCH-UNIT") == set()
    assert "Không có việc nào khớp bộ lọc." in client.get("/?unit=NO-SUCH-UNIT").get_data(as_text=True)
    bad = client.get("/?q=" + "x" * 101)
    assert bad.status_code == 400 and 'id="f-q-error"' in bad.get_data(as_text=True)


def test_taking_self_evaluations_as_proposed_completes_each_as_its_own_review(client):
    open_month(client)
    for name, total in (("ttb", 88), ("nva", 92)):
        self_evaluate(client, name, total)
    ttb, nva = ready_task("ttb", "review"), ready_task("nva", "review")
    ptd = ready_task("ptd")                      # no self-evaluation yet: not offered
    before = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "task_completed", AuditEvent.step == "review"))
    login(client, "tptc")
    html = client.get("/").get_data(as_text=True)
    assert f'name="task_id" value="{ttb.id}"' in html and f'name="task_id" value="{nva.id}"' in html
    assert f'name="task_id" value="{ptd.id}"' not in html
    resp = client.post("/tasks/take-as-proposed", data={"csrf_token": csrf_token(html),
                                                        "task_id": [str(ttb.id), str(nva.id)]},
                       follow_redirects=True)
    assert resp.status_code == 200
    assert "Đã nhận nguyên kết quả tự đánh giá của 2 người" in resp.get_data(as_text=True)
    for name, total in (("ttb", 88), ("nva", 92)):
        rec = record(name)
        assert rec.status == "decision" and rec.review_total == total, (name, rec.status, rec.review_total)
    rows = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "task_completed", AuditEvent.step == "review").order_by(AuditEvent.id)).all()
    assert len(rows) - before == 2
    done = {r.instance_id: r for r in rows[before:]}
    assert set(done) == {ttb.instance_id, nva.instance_id}
    for event in done.values():
        assert event.actor_id == user("tptc").id
        assert event.details["data"]["days_worked"] == WORKING_DAYS

    # one refused (done meanwhile) leaves the other done, and is named
    self_evaluate(client, "lvc", 80)
    lvc = ready_task("lvc", "review")
    html = client.get("/").get_data(as_text=True)
    resp = client.post("/tasks/take-as-proposed", data={"csrf_token": csrf_token(html),
                                                        "task_id": [str(ttb.id), str(lvc.id)]},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert f"Việc #{ttb.id} chưa xong" in page and "của 1 người" in page
    assert record("lvc").status == "decision"


def test_nobody_takes_someone_elses_reviews(client):
    open_month(client)
    self_evaluate(client, "ttb", 88)
    task = ready_task("ttb", "review")
    login(client, "tpcc")
    html = client.get("/").get_data(as_text=True)
    resp = client.post("/tasks/take-as-proposed", data={"csrf_token": csrf_token(html), "task_id": str(task.id)})
    assert resp.status_code == 403
    assert ready_task("ttb").step == "review"


def test_a_second_return_is_not_offered_and_days_worked_is_asked_again(client):
    from .support import Api, scores_for
    open_month(client)
    self_evaluate(client, "ttb", 88)
    tptc = Api(client, "tptc")
    tptc.complete(tptc.task_for("ttb", "review")["id"], dict(scores_for(88), return_for_revision=True,
                                                             revision_note="Bổ sung minh chứng"))
    self_evaluate(client, "ttb", 90)
    task = tptc.task_for("ttb", "review")
    assert "return_for_revision" not in tptc.get(f"/tasks/{task['id']}").get_json()["schema"]["properties"]
    refused = tptc.post(f"/tasks/{task['id']}/complete", json={"data": dict(
        scores_for(90), return_for_revision=True, revision_note="lại")})
    assert refused.status_code == 422
    assert ready_task("ttb").step == "review"
    login(client, "tptc")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'name="return_for_revision"' not in html and 'name="days_worked"' in html
    tptc.complete(task["id"], dict(scores_for(90), days_worked=WORKING_DAYS))
    assert record("ttb").status == "decision"
