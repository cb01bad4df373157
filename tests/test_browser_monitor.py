"""The monitoring pages in Chromium (issue #5): the instance page draws the instance's own BPMN with
bpmn-js and marks the active element (and an overdue one), shows the submitted form read-only and
lets HR resend a reminder; the dashboard draws its charts from the external script (no inline
script, no JS error), fits a 360 px phone, and passes axe. Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import HumanTask

from .conftest import PERIOD
from .live_server import fresh_session
from .monitor_seed import instance_id, ready_task, seed_month
from .test_browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_no_horizontal_overflow,
    chromium,  # noqa: F401
    live_server,  # noqa: F401
    login,
    new_page,  # noqa: F401
    open_menu,
    shot,
)

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def marker(page, element_id: str, css_class: str):
    return page.locator(f'#diagram .djs-element.{css_class}[data-element-id="{element_id}"]')


def test_instance_page_marks_active_and_overdue_elements(ctx, live_server, new_page):
    client = ctx.test_client()
    seed_month(client)
    # ptd's review is waiting (active); hve's review is made overdue in the projection
    db.session.execute(
        update(HumanTask)
        .where(HumanTask.id == ready_task("hve", "review").id)
        .values(due_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    )
    db.session.commit()
    ptd, hve = instance_id("ptd"), instance_id("hve")
    fresh_session()

    page = new_page(DESKTOP)
    login(page, "nva")
    page.goto(f"/instances/{ptd}")
    expect(page.locator("#diagram")).to_have_attribute("data-loaded", "true")
    expect(marker(page, "review", "active")).to_have_count(1)
    expect(marker(page, "self_evaluation", "done")).to_have_count(1)
    expect(marker(page, "self_evaluation", "active")).to_have_count(0)
    expect(marker(page, "review", "overdue")).to_have_count(0)
    # the submitted self-evaluation, read-only; who holds the review and until when
    form = page.locator('#submitted details[data-step="self_evaluation"]')
    expect(form).to_have_count(1)
    form.locator("summary").click()
    expect(form).to_contain_text("Tự đánh giá của ptd")
    expect(form.locator("input, textarea, select")).to_have_count(0)
    waiting = page.locator('#waiting .waiting-task[data-step="review"]')
    expect(waiting).to_contain_text("Phạm Thu Hà")
    expect(waiting).to_contain_text("Hạn 05/04/2030")
    expect(page.locator("#history tbody tr[data-action=task_completed]").first).to_contain_text("tiêu chí đã chấm")
    shot(page, "10-instance-hr")

    # HR resends the reminder from the page
    waiting.get_by_role("button", name="Gửi lại thông báo").click()
    expect(page.locator(".flash-success")).to_have_text("Đã gửi lại thông báo nhắc việc.")
    expect(page.locator('#history tbody tr[data-action="notification_resent"]')).to_have_count(1)

    page.goto(f"/instances/{hve}")
    expect(page.locator("#diagram")).to_have_attribute("data-loaded", "true")
    expect(marker(page, "review", "overdue")).to_have_count(1)
    expect(marker(page, "review", "active")).to_have_count(1)
    expect(page.locator('#waiting .waiting-task[data-step="review"] .late')).to_have_text("quá hạn")
    assert_accessible(page, live_server.url)
    assert not page.js_errors, page.js_errors


def test_dashboard_on_desktop_and_phone(ctx, live_server, new_page):
    client = ctx.test_client()
    seed_month(client)
    fresh_session()
    csp_errors = []
    for device, name in ((DESKTOP, "11-dashboard"), (PHONE, "12-dashboard-phone")):
        page = new_page(device)
        page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
        login(page, "gd")
        open_menu(page)
        page.get_by_role("link", name="Tổng quan").click()
        expect(page.get_by_role("heading", name="Tổng quan đánh giá tháng 03/2030")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-charts", "ready")
        for chart in ("chart-funnel", "chart-levels", "chart-trend"):
            expect(page.locator(f"#{chart}")).to_have_attribute("data-ready", "true")
        expect(page.locator("#card-total")).to_have_text("12")
        expect(page.locator("#card-done")).to_have_text("4")
        expect(page.locator('#levels tr[data-level="A"]')).to_have_attribute("data-count", "1")
        expect(page.locator('#completion tr[data-unit="SNV-TCCB"]')).to_have_attribute("data-percent", "60")
        assert_no_horizontal_overflow(page)
        shot(page, name)
        assert_accessible(page, live_server.url)
        assert not page.js_errors, page.js_errors

        # from the dashboard to the list of the unfinished, and to one evaluation
        page.locator("#card-open a").click()
        expect(page).to_have_url(re.compile(r"/dashboard/evaluations\?.*status=open"))
        expect(page.locator("#result-count")).to_have_attribute("data-total", "8")
        if device is DESKTOP:
            shot(page, "13-evaluations-list")
            with page.expect_download() as download:
                page.goto("/dashboard")
                page.locator("#export-monthly").click()
            assert download.value.suggested_filename == f"ket-qua-danh-gia-SNV-{PERIOD}.xlsx"
        assert_no_horizontal_overflow(page)
    assert not csp_errors, csp_errors
