"""Less typing for managers (issue 16, item 5): days worked prefilled with the month's working days,
returning for revision without days worked and said as a return, the inbox with self-scores, days left,
filters and a search, and taking several self-evaluations as proposed (one audited review each)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask
from app.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from app.services.evaluation import inbox

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
    form = {
        "csrf_token": csrf_token(html),
        "days_worked": "",
        "return_for_revision": "true",
        "revision_note": "Bổ sung minh chứng",
    }
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
    row = html[html.index(f'data-task="{ttb.id}"') :]
    row = row[: row.index("</tr>")]
    assert re.search(r'class="num self-total">88<', row)
    assert "còn" in row and "ngày" in row and "quá hạn" not in row
    assert ">91,5<" in html  # Vietnamese number format

    # a review past its deadline is marked in words
    ttb.due_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    row = html[html.index(f'data-task="{ttb.id}"') :]
    assert re.search(r'<tr data-step="review" data-task="%d" class="overdue"' % ttb.id, html)
    assert "quá hạn" in row[: row.index("</tr>")]
    assert "ngày làm việc" in row[: row.index("</tr>")]


HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def _at(day: int, month: int = 4, hour: int = 9) -> datetime:
    return datetime(2030, month, day, hour, tzinfo=HANOI)


def _due(day: int, month: int = 4) -> datetime:
    return DEFAULT_CALENDAR.end_of_day(date(2030, month, day))


def test_days_left_count_working_days_across_weekends_and_holidays():
    cal = DEFAULT_CALENDAR
    # due Friday 5 April 2030 (end of the day, Hanoi time)
    assert inbox.days_left(_due(5), _at(3), cal) == 2  # Wednesday: Thursday and Friday
    assert inbox.days_left(_due(5), _at(5), cal) == 0  # the due day itself
    assert inbox.days_left(_due(5), _at(6), cal) == 0  # Saturday: late, no working day lost
    assert inbox.days_left(_due(5), _at(8), cal) == -1  # Monday: one working day overdue
    # due Monday 8 April, read on Friday: one working day left (not three calendar days)
    assert inbox.days_left(_due(8), _at(5), cal) == 1
    # Hung Kings' day (Friday 12 April) and the weekend do not count: due Monday 15, read Thursday 11
    assert inbox.days_left(_due(15), _at(11), cal) == 1
    # 30 April and 1 May are holidays: due Thursday 2 May, read Friday 26 April → Monday 29 and Thursday 2
    assert inbox.days_left(_due(2, 5), _at(26), cal) == 2
    assert inbox.days_left(_due(26), _at(2, 5), cal) == -2  # Monday 29 April, Thursday 2 May
    # a day off the administrator adds counts as well; a make-up Saturday is worked
    off = WorkCalendar(days_off=frozenset({date(2030, 4, 4)}), makeup_days=frozenset({date(2030, 4, 6)}))
    assert inbox.days_left(_due(8), _at(3), off) == 3  # Friday, Saturday (worked), Monday
    # the deadline's instant in UTC is still the Hanoi due day
    assert inbox.days_left(_due(5).astimezone(timezone.utc), _at(4, hour=23), cal) == 1


def test_the_inbox_says_working_days_in_both_languages(client, monkeypatch):
    open_month(client)
    self_evaluate(client, "ttb", 88)
    task = ready_task("ttb")
    due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=timezone.utc)
    # read the Saturday before the due day's Monday: calendar days would say 2, working days say 1
    monday = due.astimezone(HANOI).date()
    while monday.weekday() != 0 or not DEFAULT_CALENDAR.is_working_day(monday):
        monday += timedelta(days=1)
    task.due_at = DEFAULT_CALENDAR.end_of_day(monday)
    db.session.commit()
    saturday = datetime.combine(monday - timedelta(days=2), datetime.min.time(), HANOI).replace(hour=10)
    login(client, "tptc")
    original = inbox.page
    monkeypatch.setattr(inbox, "page", lambda user, filters, now=None: original(user, filters, saturday))
    vi = client.get("/").get_data(as_text=True)
    en = client.get("/?lang=en").get_data(as_text=True)
    row = vi[vi.index(f'data-task="{task.id}"') :]
    assert "còn 1 ngày làm việc" in row[: row.index("</tr>")]
    row = en[en.index(f'data-task="{task.id}"') :]
    assert "1 working day left" in row[: row.index("</tr>")] and "ngày" not in row[: row.index("</tr>")]


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
    assert shown("q=" + full_name.upper()) == {str(ttb.id)}  # case does not matter
    assert shown("overdue=1") == {str(nva.id)}
    reviews = shown("step=review")
    assert {str(ttb.id), str(nva.id), str(lvc.id)} <= reviews
    assert all(db.session.get(HumanTask, int(r)).step == "review" for r in reviews)
    assert shown(f"unit={ttb.unit.code}") == {
        r for r in every if db.session.get(HumanTask, int(r)).unit_id == ttb.unit_id
    }
    assert shown("unit=NO-SUCH-UNIT") == set()
    assert "Không có việc nào khớp bộ lọc." in client.get("/?unit=NO-SUCH-UNIT").get_data(as_text=True)
    bad = client.get("/?q=" + "x" * 101)
    assert bad.status_code == 400 and 'id="f-q-error"' in bad.get_data(as_text=True)


def test_taking_self_evaluations_as_proposed_completes_each_as_its_own_review(client):
    open_month(client)
    for name, total in (("ttb", 88), ("nva", 92)):
        self_evaluate(client, name, total)
    ttb, nva = ready_task("ttb", "review"), ready_task("nva", "review")
    ptd = ready_task("ptd")  # no self-evaluation yet: not offered
    before = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "task_completed", AuditEvent.step == "review")
    )
    login(client, "tptc")
    html = client.get("/").get_data(as_text=True)
    assert f'name="task_id" value="{ttb.id}"' in html and f'name="task_id" value="{nva.id}"' in html
    assert f'name="task_id" value="{ptd.id}"' not in html
    resp = client.post(
        "/tasks/take-as-proposed",
        data={"csrf_token": csrf_token(html), "task_id": [str(ttb.id), str(nva.id)]},
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert "Đã nhận nguyên kết quả tự đánh giá của 2 người" in resp.get_data(as_text=True)
    for name, total in (("ttb", 88), ("nva", 92)):
        rec = record(name)
        assert rec.status == "decision" and rec.review_total == total, (name, rec.status, rec.review_total)
    rows = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "task_completed", AuditEvent.step == "review")
        .order_by(AuditEvent.id)
    ).all()
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
    resp = client.post(
        "/tasks/take-as-proposed",
        data={"csrf_token": csrf_token(html), "task_id": [str(ttb.id), str(lvc.id)]},
        follow_redirects=True,
    )
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
    tptc.complete(
        tptc.task_for("ttb", "review")["id"],
        dict(scores_for(88), return_for_revision=True, revision_note="Bổ sung minh chứng"),
    )
    self_evaluate(client, "ttb", 90)
    task = tptc.task_for("ttb", "review")
    assert "return_for_revision" not in tptc.get(f"/tasks/{task['id']}").get_json()["schema"]["properties"]
    refused = tptc.post(
        f"/tasks/{task['id']}/complete",
        json={"data": dict(scores_for(90), return_for_revision=True, revision_note="lại")},
    )
    assert refused.status_code == 422
    assert ready_task("ttb").step == "review"
    login(client, "tptc")
    html = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'name="return_for_revision"' not in html and 'name="days_worked"' in html
    tptc.complete(task["id"], dict(scores_for(90), days_worked=WORKING_DAYS))
    assert record("ttb").status == "decision"
