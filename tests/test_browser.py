"""One evaluation from opening the month to the locked record, entirely in Chromium, as people would:
HR opens the month for one division, the staff member evaluates herself on a phone (first with a
score above the maximum, which is refused next to the field), her manager reviews, the head decides
the batch, she appeals from the published result and the head keeps it, and the record is locked.

The other people of the division are driven through the JSON API in the test thread so that the
batch reaches the head; only ttb's evaluation goes through the browser. Screenshots of the main
pages go to test-artifacts/screenshots/. The inbox, the self-evaluation form, the review form, the
decision page and the instance page are checked with axe-core (WCAG 2 A/AA: no serious or critical
violation), and the phone pages for content wider than the screen.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask, ProcessInstance
from app.services.evaluation import instances

from .conftest import PASSWORD, PERIOD, user
from .live_server import LiveServer, fresh_session
from .support import Api, review_step, scores_for

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
UNIT = "SNV-TCCB"
DIVISION = {"nva", "ttb", "lvc", "ptd", "tptc"}

SELF_SCORES = {"I.1": 5, "I.2": 5, "I.3": 5, "I.4": 5, "II.1": 24, "II.2": 24, "II.3": 20}  # 88
REVIEW_SCORES = {"I.1": 5, "I.2": 5, "I.3": 5, "I.4": 5, "II.1": 25, "II.2": 25, "II.3": 20}  # 90 + 2 bonus
SELF_COMMENT = "Hoàn thành đúng hạn hồ sơ tuyển dụng quý I; đề xuất rút gọn quy trình tiếp nhận — ưu tiên số hóa."
APPEAL_REASON = "Đề nghị xem xét lại điểm tiến độ: hồ sơ tuyển dụng chậm do đơn vị khác gửi muộn."
ANSWER_REASON = "Giữ nguyên: điểm tiến độ đã tính đủ phần việc chậm do nguyên nhân khách quan."
# the other people of the division, through the API: reviewed total, all below A (cap 1 of 5)
OTHERS = {"nva": 85, "lvc": 80, "ptd": 75, "tptc": 88}


# --------------------------------------------------------------------------------------- fixtures
@pytest.fixture()
def live_server(ctx):
    fresh_session()  # the demo organisation is committed; nothing of ours stays open
    with LiveServer(ctx) as server:
        yield server
    fresh_session()


@pytest.fixture()
def chromium():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def new_page(chromium, live_server):
    contexts = []

    def make(device: dict):
        context = chromium.new_context(
            base_url=live_server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **device
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


# ---------------------------------------------------------------------------------------- helpers
def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name=f"Đăng xuất ({username})", include_hidden=True)).to_be_attached()


def open_menu(page) -> None:
    """On a phone the header menu folds behind one button: unfold it to reach a link or sign out."""
    page.wait_for_load_state("load")  # before its stylesheet, a desktop page shows the phone's toggle too
    toggle = page.locator(".nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def logout(page, username: str) -> None:
    open_menu(page)
    page.get_by_role("button", name=f"Đăng xuất ({username})").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("Đã đăng xuất.")).to_be_visible()


def assert_no_horizontal_overflow(page) -> None:
    # against the device width: a mobile browser zooms out to fit wider content, so innerWidth grows too
    page.wait_for_load_state("load")  # measured before its stylesheet is in, any page is too wide
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    if width > viewport:  # name the elements that stick out, so a failure says where to look
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > w + 1)
            .slice(0, 6).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
              + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
              + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')""",
            viewport,
        )
    else:
        wide = []
    assert width <= viewport, f"{page.url}: the page is {width}px wide on a {viewport}px screen: {wide}"


def assert_on_screen(locator) -> None:
    """Within the phone's width, not in a part of the page one has to scroll sideways to."""
    box = locator.bounding_box()
    width = locator.page.viewport_size["width"]
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{box} is off a {width}px screen"


def assert_accessible(page, base_url: str) -> None:
    page.add_script_tag(url=f"{base_url}/static/vendor/axe.min.js")
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})""")
    bad = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"axe on {page.url}: {bad}"


def fill_scores(page, scores: dict) -> None:
    for code, value in scores.items():
        page.locator(f'input[name="scores[{code}]"]').fill(str(value))


def record(username: str) -> EvaluationRecord:
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == PERIOD
        )
    ).one()


def ready_steps(username: str) -> list[str]:
    return list(
        db.session.scalars(
            select(HumanTask.step).where(HumanTask.subject_id == user(username).id, HumanTask.status == "ready")
        )
    )


def others_to_decision(client) -> None:
    """nva, lvc, ptd and tptc evaluate themselves and are reviewed, through the API."""
    for username in OTHERS:
        api = Api(client, username)
        task = api.task_for(username, "self_evaluation")
        api.complete(task["id"], dict(scores_for(86, username == "tptc"), comment="Tự đánh giá tháng 3"))
    tptc, gd = Api(client, "tptc"), Api(client, "gd")
    for username, total in OTHERS.items():
        reviewer = gd if username == "tptc" else tptc
        task = reviewer.task_for(username, review_step(username))
        reviewer.complete(
            task["id"], dict(scores_for(total, username == "tptc"), days_worked=21, comment="Nhận xét của lãnh đạo")
        )
    fresh_session()


# ------------------------------------------------------------------------------------------- test
def test_one_evaluation_in_the_browser(ctx, live_server, new_page):
    client = ctx.test_client()

    # 1. HR opens the month for the division only ------------------------------------------------
    hr = new_page(DESKTOP)
    login(hr, "nva")
    open_menu(hr)
    hr.get_by_role("link", name="Mở kỳ").click()
    expect(hr.get_by_role("heading", name="Mở kỳ đánh giá")).to_be_visible()
    hr.get_by_label("Đơn vị", exact=True).select_option(UNIT)
    hr.get_by_label("Kỳ đánh giá (tháng)").fill(PERIOD)
    hr.get_by_label("Gồm cả các đơn vị trực thuộc").uncheck()
    hr.get_by_role("button", name="Mở kỳ").click()
    expect(hr.locator("#open-result")).to_have_text(f"Đã mở kỳ {PERIOD}: 5 hồ sơ mới, 0 đã có từ trước.")
    shot(hr, "01-open-month")
    fresh_session()
    opened = db.session.scalars(select(ProcessInstance).where(ProcessInstance.period == PERIOD)).all()
    assert {i.subject.username for i in opened} == DIVISION

    others_to_decision(client)

    # 2. ttb evaluates herself on her phone ------------------------------------------------------
    phone = new_page(PHONE)
    login(phone, "ttb")
    expect(phone.get_by_role("heading", name="Việc của tôi")).to_be_visible()
    row = phone.locator('#inbox tr[data-step="self_evaluation"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Trần Thị Bình")
    expect(row).to_contain_text("03/2030")
    expect(row).to_contain_text("03/04/2030")  # due date: third working day of the next month
    assert_on_screen(row.get_by_text("03/04/2030"))
    assert_no_horizontal_overflow(phone)
    shot(phone, "02-inbox-phone")
    assert_accessible(phone, live_server.url)

    row.get_by_role("link").click()
    expect(phone.get_by_role("heading", name="Cá nhân tự đánh giá, chấm điểm")).to_be_visible()
    task_url = phone.url
    assert_no_horizontal_overflow(phone)
    assert_accessible(phone, live_server.url)
    shot(phone, "03-self-form-phone")

    # first with 9 for I.1 (max 5): refused next to the field, nothing saved
    fill_scores(phone, dict(SELF_SCORES, **{"I.1": 9}))
    expect(phone.locator("input[name=bonus]")).to_have_value("0")
    phone.get_by_label("Tự nhận xét").fill(SELF_COMMENT)
    expect(phone.locator("output.running-total")).to_have_text("88")  # form.js caps I.1 at its max
    phone.get_by_role("button", name="Gửi").click()
    field = phone.locator('[data-field="scores[I.1]"]')
    expect(field.locator(".field-error")).to_contain_text("tối đa")
    expect(field.locator("input")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator(".error-summary")).to_contain_text("tối đa")
    expect(phone.locator(".error-summary")).to_be_focused()
    expect(phone.locator(".flash-error")).to_be_visible()
    # what she typed is still there
    expect(field.locator("input")).to_have_value("9")
    expect(phone.locator('input[name="scores[II.1]"]')).to_have_value("24")
    expect(phone.get_by_label("Tự nhận xét")).to_have_value(SELF_COMMENT)
    assert_no_horizontal_overflow(phone)
    shot(phone, "04-self-form-error-phone")
    fresh_session()
    assert ready_steps("ttb") == ["self_evaluation"]
    assert record("ttb").status == "self_evaluation" and record("ttb").self_total is None
    inbox = phone.context.new_page()  # a second tab: the task is still in her inbox
    inbox.goto("/")
    expect(inbox.locator('#inbox tr[data-step="self_evaluation"]')).to_have_count(1)
    inbox.close()

    # corrected and sent
    field.locator("input").fill("5")
    expect(phone.locator("output.running-total")).to_have_text("88")
    phone.get_by_role("button", name="Gửi").click()
    expect(phone).to_have_url(re.compile(r"/$"))
    expect(phone.locator(".flash-success")).to_contain_text("Đã hoàn thành: Cá nhân tự đánh giá")
    expect(phone.locator('#inbox tr[data-step="self_evaluation"]')).to_have_count(0)
    expect(phone.get_by_text("Không có việc nào đang chờ anh/chị.")).to_be_visible()
    fresh_session()
    assert record("ttb").self_total == 88 and record("ttb").status == "review"
    ttb_instance_id = record("ttb").instance_id
    data = instances.load(db.session.get(ProcessInstance, ttb_instance_id)).data()
    assert data["self_evaluation"]["comment"] == SELF_COMMENT
    assert data["self_evaluation"]["scores"] == SELF_SCORES and data["self_evaluation"]["bonus"] == 0
    fresh_session()
    # opening the done task again (an old link, the back button) says so and offers no form
    response = phone.goto(task_url)
    assert response.status == 409
    expect(phone.get_by_role("alert")).to_contain_text("Việc này đã được hoàn thành")
    expect(phone.get_by_role("button", name="Gửi")).to_have_count(0)
    fresh_session()
    assert record("ttb").self_total == 88 and ready_steps("ttb") == ["review"]
    fresh_session()
    logout(phone, "ttb")

    # 3. her manager reviews -------------------------------------------------------------------
    manager = new_page(DESKTOP)
    login(manager, "tptc")
    row = manager.locator('#inbox tr[data-step="review"]', has_text="Trần Thị Bình")
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(manager.get_by_role("heading", name=re.compile("Lãnh đạo"))).to_be_visible()
    own = manager.locator("section.readonly-section")
    expect(own).to_contain_text(SELF_COMMENT)
    self_table = own.locator("table.readonly-scores")
    expect(self_table.locator("tr", has_text="II.1.").locator("td").last).to_have_text("24")
    expect(own.locator("input, textarea, select")).to_have_count(0)  # read-only
    # the manager starts from the self scores
    expect(manager.locator('input[name="scores[II.1]"]')).to_have_value("24")
    expect(manager.get_by_label("Nội dung cần bổ sung")).to_be_hidden()  # only when returning for revision
    fill_scores(manager, REVIEW_SCORES)
    manager.locator("input[name=bonus]").fill("2")
    manager.get_by_label("Lý do điểm thưởng").fill("Sáng kiến số hóa hồ sơ tuyển dụng được Sở ghi nhận.")
    manager.get_by_label("Nhận xét của lãnh đạo trực tiếp").fill("Hoàn thành xuất sắc; chủ động, đúng hạn.")
    manager.get_by_label("Số ngày làm việc thực tế").fill("21")
    manager.get_by_label("Đề xuất xếp loại").select_option("A")
    expect(manager.locator("output.running-total")).to_have_text("92")
    shot(manager, "05-review-form")
    assert_accessible(manager, live_server.url)
    manager.get_by_role("button", name="Gửi").click()
    expect(manager.locator(".flash-success")).to_contain_text("Trần Thị Bình")
    expect(manager.locator('#inbox tr[data-step="review"]')).to_have_count(0)
    fresh_session()
    rec = record("ttb")
    assert (rec.status, rec.total, rec.level, rec.proposed_level) == ("decision", 92, "A", "A")
    assert rec.published_at is None
    fresh_session()

    # 4. the head decides the batch --------------------------------------------------------------
    head = new_page(DESKTOP)
    login(head, "gd")
    open_menu(head)
    head.get_by_role("link", name="Quyết định", exact=True).click()
    batch = head.locator("article", has=head.get_by_role("heading", name="Sở Nội vụ — tháng 03/2030"))
    expect(batch).to_have_count(1)
    rows = batch.locator("tbody tr")
    expect(rows).to_have_count(5)
    ttb_row = rows.filter(has_text="Trần Thị Bình")
    expect(ttb_row.locator("td").nth(2)).to_have_text("88")  # self score
    expect(ttb_row.locator("td").nth(3)).to_have_text("92")  # manager's score
    expect(ttb_row.locator("td").nth(5)).to_have_text("A")  # level by the rules
    expect(batch.locator(".quota-count")).to_have_text("1")
    shot(head, "06-decision-batch")
    assert_accessible(head, live_server.url)
    batch.get_by_role("button", name="Quyết định và công bố").click()
    expect(head.locator(".flash-success")).to_have_text("Đã quyết định xếp loại 5 hồ sơ và công bố kết quả.")
    expect(head.get_by_text("Không có hồ sơ nào chờ anh/chị quyết định.")).to_be_visible()
    fresh_session()
    for username in DIVISION:
        assert record(username).status == "published" and record(username).published_at is not None
    assert record("ttb").level == "A" and record("nva").level == "B"
    fresh_session()

    # 5. ttb sees the result, appeals, the head keeps it, the record is locked --------------------
    login(phone, "ttb")
    open_menu(phone)
    phone.get_by_role("link", name=re.compile("^Thông báo")).click()
    expect(phone.get_by_role("heading", name="Thông báo")).to_be_visible()
    phone.locator(f'ul.notifications a[href="/instances/{ttb_instance_id}"]').first.click()
    expect(phone).to_have_url(re.compile(rf"/instances/{ttb_instance_id}$"))
    expect(phone.locator("#level")).to_have_text("A — Hoàn thành xuất sắc nhiệm vụ")
    expect(phone.locator("#total")).to_have_text("92")
    expect(phone.locator("#record-status")).to_have_text("Đã công bố, trong thời hạn kiến nghị")
    appeal = phone.locator("#appeal")
    expect(appeal).to_be_visible()
    assert_no_horizontal_overflow(phone)
    shot(phone, "07-instance-published-phone")
    appeal.get_by_label("Nội dung kiến nghị").fill(APPEAL_REASON)
    appeal.get_by_role("button", name="Gửi kiến nghị").click()
    expect(phone.locator(".flash-success")).to_contain_text("Đã gửi kiến nghị")
    expect(phone.locator("#record-status")).to_have_text("Đang giải quyết kiến nghị")
    expect(phone.locator("#appeal")).to_have_count(0)
    fresh_session()
    assert record("ttb").status == "appeal" and record("ttb").appealed
    fresh_session()

    open_menu(head)
    head.get_by_role("link", name="Việc của tôi").click()
    row = head.locator('#inbox tr[data-step="appeal_decision"]', has_text="Trần Thị Bình")
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(head.locator("section.readonly-section", has_text=APPEAL_REASON)).to_be_visible()
    amended = head.locator('fieldset[data-field="scores"]')
    expect(amended).to_be_hidden()  # amended scores only for the outcome "amend"
    head.get_by_label("Kết quả giải quyết").select_option("amend")
    expect(amended).to_be_visible()
    head.get_by_label("Kết quả giải quyết").select_option("keep")
    expect(amended).to_be_hidden()
    head.get_by_role("textbox", name="Lý do", exact=True).fill(ANSWER_REASON)
    shot(head, "08-appeal-answer")
    head.get_by_role("button", name="Gửi").click()
    expect(head.locator(".flash-success")).to_contain_text("Trần Thị Bình")
    fresh_session()
    rec = record("ttb")
    assert (rec.status, rec.level, rec.total) == ("locked", "A", 92) and rec.locked_at is not None
    fresh_session()

    phone.reload()
    expect(phone.locator("#record-status")).to_have_text("Đã chốt")
    expect(phone.locator("dl.result dt", has_text="Đã chốt")).to_be_visible()
    expect(phone.locator("#level")).to_have_text("A — Hoàn thành xuất sắc nhiệm vụ")
    expect(phone.locator("#appeal")).to_have_count(0)
    history = phone.locator("#history tbody tr")
    expect(history.filter(has_text="Gửi kiến nghị")).to_have_count(1)
    phone.locator("#diagram-details > summary").click()  # the diagram waits behind its summary
    expect(phone.locator("#diagram")).to_have_attribute("data-loaded", "true")
    assert_no_horizontal_overflow(phone)
    shot(phone, "09-instance-locked-phone")
    assert_accessible(phone, live_server.url)

    for page in (hr, phone, manager, head):
        assert not page.js_errors, page.js_errors


# ------------------------------------------------------------------------------------- in English
def switch_to_english(page) -> None:
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def login_en(page, username: str) -> None:
    page.goto("/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=f"Sign out ({username})", include_hidden=True)).to_be_attached()


def test_month_in_english_on_a_phone(ctx, live_server, new_page):
    """The self-evaluation, the manager's review and the head's batch decision in English on a 360 px
    phone: English pages and form titles, numbers as 89.5, axe passing on every page visited."""
    from app.services.evaluation import cycles

    client = ctx.test_client()
    cycles.open_month(UNIT, PERIOD)
    db.session.commit()
    others_to_decision(client)

    # staff: switches the language from the header of the sign-in page
    staff = new_page(PHONE)
    staff.goto("/login")
    expect(staff.locator("html")).to_have_attribute("lang", "vi")
    assert_accessible(staff, live_server.url)
    switch_to_english(staff)
    expect(staff.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_no_horizontal_overflow(staff)
    assert_accessible(staff, live_server.url)
    shot(staff, "en-01-login-phone")
    staff.get_by_label("Username").fill("ttb")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", name="My tasks")).to_be_visible()
    row = staff.locator('#inbox tr[data-step="self_evaluation"]')
    expect(row).to_contain_text("Step 1/4: Self-evaluation and scoring")
    assert_no_horizontal_overflow(staff)
    assert_accessible(staff, live_server.url)
    shot(staff, "en-02-inbox-phone")
    row.get_by_role("link").click()
    expect(staff.get_by_role("heading", name="Self-evaluation and scoring", exact=True)).to_be_visible()
    expect(staff.locator('[data-field="scores[I.1]"] label')).to_contain_text("(max 5 points)")
    fill_scores(staff, dict(SELF_SCORES, **{"II.1": 23.5, "I.1": 9}))
    staff.locator('textarea[name="comment"]').fill("Finished the recruitment files on time.")
    staff.get_by_role("button", name="Submit").click()
    # the refusal is in English, next to the field and in the focused summary
    expect(staff.locator(".error-summary")).to_be_focused()
    expect(staff.locator(".error-summary h2")).to_contain_text("to fix")
    expect(staff.locator('[data-field="scores[I.1]"] .field-error')).not_to_contain_text("tối đa")
    assert_no_horizontal_overflow(staff)
    assert_accessible(staff, live_server.url)
    shot(staff, "en-03-self-form-error-phone")
    staff.locator('input[name="scores[I.1]"]').fill("5")
    expect(staff.locator("output.running-total")).to_have_text("87.5")  # English decimal point
    staff.get_by_role("button", name="Submit").click()
    expect(staff.locator(".flash-success")).to_contain_text("Completed: Self-evaluation and scoring")
    expect(staff.get_by_text("Nothing waiting for you.")).to_be_visible()
    fresh_session()
    assert record("ttb").self_total == 87.5 and record("ttb").status == "review"
    fresh_session()

    # the manager, on a phone too, with English as her language
    manager = new_page(PHONE)
    login_en(manager, "tptc")
    row = manager.locator('#inbox tr[data-step="review"]', has_text="Trần Thị Bình")
    expect(row).to_contain_text("Step 2/4: Direct manager's review and scoring")
    assert_accessible(manager, live_server.url)
    row.get_by_role("link").click()
    expect(manager.get_by_role("heading", name="Direct manager's review and scoring", exact=True)).to_be_visible()
    expect(manager.locator('input[name="scores[II.1]"]')).to_have_value("23.5")
    fill_scores(manager, REVIEW_SCORES)
    manager.locator('textarea[name="comment"]').fill("Excellent work, always on time.")
    manager.locator('input[name="days_worked"]').fill("21")
    manager.locator('select[name="proposed_level"]').select_option("A")
    expect(manager.locator("output.running-total")).to_have_text("90")
    assert_no_horizontal_overflow(manager)
    assert_accessible(manager, live_server.url)
    shot(manager, "en-04-review-form-phone")
    manager.get_by_role("button", name="Submit").click()
    expect(manager.locator(".flash-success")).to_contain_text("Trần Thị Bình")
    fresh_session()
    assert (record("ttb").status, record("ttb").total) == ("decision", 90)
    fresh_session()

    # the head decides the batch on a phone
    head = new_page(PHONE)
    login_en(head, "gd")
    open_menu(head)
    head.get_by_role("link", name="Decisions", exact=True).click()
    batch = head.locator("article", has=head.get_by_role("heading", name="Sở Nội vụ — month 03/2030"))
    expect(batch.locator("tbody tr")).to_have_count(5)
    expect(batch).to_contain_text("Level A as proposed:")
    assert_accessible(head, live_server.url)
    shot(head, "en-05-decision-batch-phone")
    batch.get_by_role("button", name="Decide and publish").click()
    expect(head.locator(".flash-success")).to_have_text("Decided 5 evaluations and published the results.")
    fresh_session()
    assert record("ttb").status == "published" and record("ttb").level == "A"
    fresh_session()

    # staff sees the published result and its notification in English
    open_menu(staff)
    staff.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(staff.locator("ul.notifications")).to_contain_text("Your evaluation for 2030-03 is published: 90 points")
    assert_accessible(staff, live_server.url)
    staff.locator("ul.notifications a").first.click()
    expect(staff.locator("#record-status")).to_have_text("Published, appeal window open")
    expect(staff.locator("#level")).to_have_text("A — Excellently completed duties")
    assert_no_horizontal_overflow(staff)
    assert_accessible(staff, live_server.url)
    shot(staff, "en-06-instance-phone")
    staff.get_by_role("link", name="Accessibility statement").click()
    expect(staff.get_by_role("heading", name="Accessibility statement")).to_be_visible()
    assert_accessible(staff, live_server.url)

    for page in (staff, manager, head):
        assert not page.js_errors, page.js_errors


def test_a_dropped_connection_loses_nothing_typed(ctx, live_server, new_page):
    """Autosave: what ttb types is saved as a draft while she types; reopening the task (new tab,
    after the network came back) shows it again; after she submits, no draft is left."""
    from app.models import TaskDraft
    from app.services.evaluation import cycles

    cycles.open_month(UNIT, PERIOD)
    fresh_session()
    phone = new_page(PHONE)
    login(phone, "ttb")
    phone.locator('#inbox tr[data-step="self_evaluation"]').get_by_role("link").click()
    task_url = phone.url
    phone.locator("input[name='scores[I.1]']").fill("4.5")
    phone.get_by_label("Tự nhận xét").fill("Đang viết dở, mạng chập chờn… 📶")
    expect(phone.locator("#draft-status")).to_contain_text("Đã lưu nháp", timeout=20000)
    phone.context.set_offline(True)
    phone.get_by_label("Tự nhận xét").fill("Đang viết dở, mạng chập chờn… 📶 (mất mạng)")
    expect(phone.locator("#draft-status")).to_contain_text("Chưa lưu được nháp", timeout=20000)
    phone.context.set_offline(False)  # back online: what failed to save goes now
    expect(phone.locator("#draft-status")).to_contain_text("Đã lưu nháp", timeout=20000)
    again = phone.context.new_page()
    again.goto(task_url)
    expect(again.locator("input[name='scores[I.1]']")).to_have_value("4,5")
    expect(again.get_by_label("Tự nhận xét")).to_have_value("Đang viết dở, mạng chập chờn… 📶 (mất mạng)")
    fill_scores(again, {"I.1": 4.5, "I.2": 5, "I.3": 5, "I.4": 5, "II.1": 20, "II.2": 20, "II.3": 18})
    again.get_by_role("button", name="Gửi").click()
    expect(again.get_by_role("heading", name="Việc của tôi")).to_be_visible()
    fresh_session()
    assert db.session.query(TaskDraft).count() == 0
    assert record("ttb").self_total == 77.5
