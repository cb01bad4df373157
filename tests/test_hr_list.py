"""HR (issue 16, item 7): one list of evaluations with filters, counts and exports instead of three;
the old addresses lead to it with the same filters; the open-month page says a bad period next to its
field and answers a post with a redirect (post/redirect/get)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessInstance
from app.web.monitor.routes import previous_period

from .conftest import PERIOD, csrf_token
from .monitor_seed import seed_month
from .test_pages import login


def test_the_old_lists_lead_to_the_one_list_with_the_same_filters(client):
    login(client, "nva")
    cases = {
        "/instances": f"/dashboard/evaluations?period={previous_period()}",
        f"/instances?period={PERIOD}": f"/dashboard/evaluations?period={PERIOD}",
        "/instances?period=2030-13": f"/dashboard/evaluations?period={previous_period()}",  # as before: last month
        f"/reports/monthly?unit=SNV-TCCB&period={PERIOD}": f"/dashboard/evaluations?unit=SNV-TCCB&period={PERIOD}",
        "/reports/monthly?unit=SNV": f"/dashboard/evaluations?unit=SNV&period={previous_period()}",
    }
    for old, new in cases.items():
        resp = client.get(old)
        assert resp.status_code == 302 and resp.headers["Location"] == new, (old, resp.headers.get("Location"))
    # a bad period given to the old report reaches the list, which says so next to the field
    resp = client.get("/reports/monthly?unit=SNV&period=2030-3", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'<p class="field-error" id="f-period-error">[^<]*YYYY-MM', html)
    assert 'aria-describedby="f-period-error"' in html


def test_the_one_list_counts_levels_and_exports_the_month(client):
    seed_month(client)
    login(client, "nva")
    html = client.get(f"/dashboard/evaluations?unit=SNV&period={PERIOD}").get_data(as_text=True)
    counts = re.search(r'<p id="level-counts">([^<]*)</p>', html).group(1)
    # ttb A, lvc B, tptc B published; the other nine not yet
    assert "A: 1 · B: 2 · C: 0 · D: 0" in counts and "chưa có: 9" in counts
    assert f'href="/dashboard/export/monthly.xlsx?unit=SNV&amp;period={PERIOD}"' in html
    export = client.get(f"/dashboard/export/monthly.xlsx?unit=SNV&period={PERIOD}")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    # a filter narrows the counts too
    html = client.get(f"/dashboard/evaluations?unit=SNV-TCCB&period={PERIOD}&level=B").get_data(as_text=True)
    assert "A: 0 · B: 2" in re.search(r'<p id="level-counts">([^<]*)</p>', html).group(1)
    # without a month the list spans months: no counts
    assert 'id="level-counts"' not in client.get("/dashboard/evaluations").get_data(as_text=True)


def test_the_menu_leads_everyone_to_the_one_list(client):
    seed_month(client)
    for username in ("ttb", "nva"):
        login(client, username)
        html = client.get("/").get_data(as_text=True)
        assert 'href="/dashboard/evaluations"' in html
        assert 'href="/instances"' not in html and 'href="/reports/monthly"' not in html
    # a staff member's list holds their own record only
    login(client, "ttb")
    html = client.get(f"/dashboard/evaluations?period={PERIOD}").get_data(as_text=True)
    assert len(re.findall(r'<tr data-instance="\d+"', html)) == 1


def test_opening_a_month_answers_with_a_redirect_and_says_a_bad_period_next_to_the_field(client):
    login(client, "nva")
    page = client.get("/months/open?lang=en").get_data(as_text=True)
    bad = client.post(
        "/months/open",
        data={"unit": "SNV-TCCB", "period": "03/2030", "include_subunits": "on", "csrf_token": csrf_token(page)},
    )
    assert bad.status_code == 302 and bad.headers["Location"] == "/months/open"
    html = client.get("/months/open").get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="period-error">([^<]*)</p>', html)
    assert error and "The period must be YYYY-MM" in error.group(1) and "Kỳ đánh giá phải" not in html
    assert 'value="03/2030"' in html
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    # the outcome is shown once: a reload shows the empty form again
    again = client.get("/months/open").get_data(as_text=True)
    assert re.search(r'<p class="field-error" id="period-error" hidden>', again)

    ok = client.post("/months/open", data={"unit": "SNV-TCCB", "period": PERIOD, "csrf_token": csrf_token(page)})
    assert ok.status_code == 302
    assert "Opened 2030-03: 5 new evaluations" in client.get("/months/open").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 5


def test_a_form_posted_too_late_lands_on_the_pages_own_address(client):
    """A task completed meanwhile: the second submit answers with a redirect to the task's address (a
    GET), which says why; a reload never posts again."""
    from .monitor_seed import open_month, ready_task

    open_month(client)
    task = ready_task("ttb")
    login(client, "ttb")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    from .support import Api, scores_for

    Api(client, "ttb").complete(task.id, scores_for(80))
    late = client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_token(page), "scores[I.1]": "5"})
    assert late.status_code == 302 and late.headers["Location"] == f"/tasks/{task.id}"
    landing = client.get(f"/tasks/{task.id}")
    assert landing.status_code == 409 and "đã được hoàn thành" in landing.get_data(as_text=True)
    # a POST-only address is never a landing page: the autosave of a done task stays a plain 409
    assert client.post(f"/tasks/{task.id}/draft", data={"csrf_token": csrf_token(page)}).status_code == 409
