"""A month against its registered work on a 390 px phone (issue #14): the person registers the plan
(adding and removing item rows), the manager approves it, the period ends, the person ticks what was
done and attaches a photo of the report to its item from the form, the manager confirms with a major
error (seeing the photo by name), and the head decides; nobody types a task-result score. No horizontal scroll, axe-core on the plan and self-evaluation forms; screenshots go to
test-artifacts/screenshots/plan-*."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, PlanItem

from .conftest import PERIOD, user
from .live_server import fresh_session
from .support import Api
from .test_browser import (
    CHROMIUM,  # noqa: F401
    CHROMIUM_ARGS,  # noqa: F401
    SHOTS,
    assert_accessible,
    assert_no_horizontal_overflow,
    chromium,  # noqa: F401
    expect,
    live_server,  # noqa: F401
    login,
    logout,
    new_page,  # noqa: F401
    open_menu,
    shot,
)

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
GROUP_I = {"I.1": "5", "I.2": "5", "I.3": "5", "I.4": "4,5"}


@pytest.fixture()
def plan_on(ctx):
    ctx.config["WORK_PLAN_PHASE"] = True
    yield ctx
    ctx.config["WORK_PLAN_PHASE"] = False


def open_task(page, step, name):
    open_menu(page)
    page.get_by_role("link", name="Việc của tôi", exact=True).click()
    row = page.locator(f'#inbox tr[data-step="{step}"]', has_text=name)
    expect(row).to_have_count(1)
    row.get_by_role("link").click()


def test_plan_self_evaluation_review_and_decision_on_a_phone(plan_on, live_server, new_page):
    client = plan_on.test_client()
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    fresh_session()

    # 1. ttb registers her plan: three rows, one removed again
    phone = new_page(PHONE)
    login(phone, "ttb")
    open_task(phone, "work_plan", "Trần Thị Bình")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cá nhân đăng ký kế hoạch công tác tháng")
    plan = [
        ("Báo cáo sơ kết quý I", "Báo cáo", "2", "2030-03-12"),
        ("Dự thảo quy chế thi đua", "Dự thảo", "1", "2030-03-20"),
        ("Việc ghi nhầm", "", "1", ""),
    ]
    for i, (title, product, weight, deadline) in enumerate(plan):
        if i:
            phone.get_by_role("button", name="Thêm dòng").click()
        phone.locator(f'[name="items[{i}][title]"]').fill(title)
        phone.locator(f'[name="items[{i}][product]"]').fill(product)
        phone.locator(f'[name="items[{i}][weight]"]').fill(weight)
        if deadline:
            phone.locator(f'[name="items[{i}][deadline]"]').fill(deadline)
    phone.locator('[data-remove-row="items[2]"]').click()
    expect(phone.locator('[name="items[2][title]"]')).to_be_hidden()
    assert_no_horizontal_overflow(phone)
    assert_accessible(phone, live_server.url)
    shot(phone, "plan-01-register-phone")
    phone.get_by_role("button", name="Gửi").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    fresh_session()
    items = db.session.scalars(
        select(PlanItem).where(PlanItem.subject_id == user("ttb").id).order_by(PlanItem.position)
    ).all()
    assert [(i.title, i.weight) for i in items] == [("Báo cáo sơ kết quý I", 2), ("Dự thảo quy chế thi đua", 1)]
    fresh_session()
    logout(phone, "ttb")

    # 2. tptc approves it from his phone
    login(phone, "tptc")
    open_task(phone, "plan_approval", "Trần Thị Bình")
    expect(phone.locator('[name="items[0][title]"]')).to_have_value("Báo cáo sơ kết quý I")
    assert_no_horizontal_overflow(phone)
    phone.get_by_role("button", name="Gửi").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    logout(phone, "tptc")

    # 3. the period ends; ttb ticks what she did
    from app.services.evaluation import timers

    fresh_session()
    timers.run_due(datetime(2030, 4, 1, 1, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    fresh_session()
    login(phone, "ttb")
    open_task(phone, "self_evaluation", "Trần Thị Bình")
    for code, value in GROUP_I.items():
        phone.locator(f'input[name="scores[{code}]"]').fill(value)
    expect(phone.locator('input[name="scores[II.1]"]')).to_have_attribute("readonly", "")
    phone.locator('[name="items[0][done]"]').check()
    phone.locator('[name="items[0][completed_on]"]').fill("2030-03-11")
    phone.locator('[name="items[1][done]"]').check()
    phone.locator('[name="items[1][completed_on]"]').fill("2030-03-22")
    # a photo of the report, taken from the item's own row; the form comes back as typed, the photo listed
    from .test_evidence import PNG

    photo = phone.locator('[name="items[0][evidence]__photo"]')
    assert photo.get_attribute("accept") == "image/*" and photo.get_attribute("capture") is not None
    photo.set_input_files({"name": "IMG_0001.png", "mimeType": "image/png", "buffer": PNG})
    expect(phone.locator("#f-items-0-evidence-photo-name")).to_have_text(
        "IMG_0001.png"
    )  # the page's, not the browser's
    attach = phone.locator('[data-field="items[0][evidence]"] .evidence-attach')
    assert attach.bounding_box()["height"] >= 44
    attach.click()
    expect(phone.locator(".flash-success")).to_be_visible()
    expect(phone.locator('[data-field="items[0][evidence]"] a.evidence-name')).to_have_text("IMG_0001.png")
    expect(phone.locator('[name="items[0][done]"]')).to_be_checked()
    expect(phone.locator('[name="items[1][completed_on]"]')).to_have_value("2030-03-22")
    expect(phone.locator('input[name="scores[I.4]"]')).to_have_value("4,5")
    phone.set_viewport_size({"width": 360, "height": 780})  # the narrowest phone too
    assert_no_horizontal_overflow(phone)
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.locator('[data-field="items[0][evidence]"]').screenshot(path=str(SHOTS / "plan-02-evidence-360.png"))
    for control in (
        'label[for="f-items-0-evidence-photo"]',
        'label[for="f-items-0-evidence-file"]',
        '[data-field="items[0][evidence]"] a.evidence-name',
    ):
        assert phone.locator(control).bounding_box()["height"] >= 44, control
    phone.set_viewport_size(PHONE["viewport"])
    assert_no_horizontal_overflow(phone)
    assert_accessible(phone, live_server.url)
    shot(phone, "plan-02-self-evaluation-phone")
    phone.get_by_role("button", name="Gửi").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    logout(phone, "ttb")

    # 4. tptc confirms: one major error on the report; the late draft keeps its default delay
    login(phone, "tptc")
    open_task(phone, "review", "Trần Thị Bình")
    expect(phone.locator('[name="items[1][delays]"]')).to_have_value("1")
    expect(phone.locator('[data-field="items[0][evidence]"] a.evidence-name')).to_have_text("IMG_0001.png")
    phone.locator('[name="items[0][major_errors]"]').fill("1")
    for code, value in GROUP_I.items():
        phone.locator(f'input[name="scores[{code}]"]').fill(value)
    phone.locator('input[name="days_worked"]').fill("21")
    assert_no_horizontal_overflow(phone)
    shot(phone, "plan-03-review-phone")
    phone.get_by_role("button", name="Gửi").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    logout(phone, "tptc")
    fresh_session()
    rec = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id)).one()
    # quantity 100 % → 25; quality (2 × 0.75 + 1)/3 → 20.83; timeliness (2 + 0.75)/3 → 18.33; 19.5 + 64.16
    assert rec.scores["II.1"] == 25 and rec.scores["II.2"] == 20.83 and rec.scores["II.3"] == 18.33
    assert rec.total == 83.66
    evidence_ids = db.session.scalars(
        select(PlanItem.evidence).where(PlanItem.subject_id == user("ttb").id).order_by(PlanItem.position)
    ).all()
    assert len(evidence_ids[0]) == 1 and not evidence_ids[1]
    fresh_session()

    # 5. gd decides ttb alone from the decision page, seeing why
    login(phone, "gd")
    phone.goto("/decisions")
    batch = phone.locator(".decision-batch")
    expect(batch.locator(".plan-result").first).to_contain_text("Hoàn thành 100%")
    batch.locator('input[name="instance_id"]').evaluate_all(
        f"(els) => els.forEach(e => e.checked = e.value === '{rec.instance_id}')"
    )
    assert_no_horizontal_overflow(phone)
    shot(phone, "plan-04-decision-phone")
    batch.get_by_role("button", name="Quyết định và công bố").click()
    expect(phone.locator(".flash-success")).to_be_visible()
    fresh_session()
    rec = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id)).one()
    assert rec.published_at is not None and rec.level == "B"
    fresh_session()
