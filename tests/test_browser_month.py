"""The whole month of one division through the UI, once in Vietnamese and once in English (issue #8):
HR opens the month, every staff member evaluates themselves on a phone, the division head reviews them
(desktop in Vietnamese, phone in English), the agency head scores the division head and decides the batch
on the decision page (sorts a column, changes a level, watches the live quota counter go over the cap and
back, then submits), staff see the published result, one appeals and the head answers, and the timers lock
the rest. Nothing goes through the API: only the lock is fired the way the worker does it
(`timers.run_due`). Screenshots go to test-artifacts/screenshots/month-*; axe-core checks every staff page
and the decision page.

A third test checks the live counter against the Decree 335 rule (20 % of the people rated B).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord, HumanTask
from app.services.evaluation import timers
from app.services.regulation import schemes

from .conftest import PERIOD, later, user
from .live_server import fresh_session
from .support import ND335, Api, scores_for
from .test_browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_no_horizontal_overflow,
    chromium,  # noqa: F401
    expect,
    fill_scores,
    live_server,  # noqa: F401
    login,
    login_en,
    logout,
    new_page,  # noqa: F401
    open_menu,
    record,
    shot,
)

pytestmark = pytest.mark.browser

UNIT = "SNV-TCCB"
STAFF = ["nva", "ttb", "lvc", "ptd", "tptc"]  # the division, its head tptc last
NAMES = {
    "nva": "Nguyễn Văn An",
    "ttb": "Trần Thị Bình",
    "lvc": "Lê Văn Công",
    "ptd": "Phạm Thị Dung",
    "tptc": "Phạm Thu Hà",
}
BY_NAME = ["lvc", "nva", "ptd", "tptc", "ttb"]  # Vietnamese collation: Lê, Nguyễn, Phạm Thị, Phạm Thu, Trần


# ---------------------------------------------------------------------------------------- helpers
class Lang:
    """The words the tests look for, per language."""

    def __init__(self, code: str):
        self.code = code
        self.vi = code == "vi"

    def login(self, page, username):
        (login if self.vi else login_en)(page, username)
        expect(page.locator("html")).to_have_attribute("lang", self.code)

    def logout(self, page, username):
        if self.vi:
            logout(page, username)
        else:
            open_menu(page)
            page.get_by_role("button", name=f"Sign out ({username})").click()
            expect(page).to_have_url(re.compile(r"/login$"))
            expect(page.get_by_text("Signed out.")).to_be_visible()

    def num(self, value) -> str:
        text = f"{value:g}"
        return text.replace(".", ",") if self.vi else text

    @property
    def submit(self):
        return "Gửi" if self.vi else "Submit"


def ready_task(username: str, step_prefix: str) -> HumanTask:
    return db.session.scalars(
        select(HumanTask).where(
            HumanTask.subject_id == user(username).id,
            HumanTask.status == "ready",
            HumanTask.step.startswith(step_prefix),
        )
    ).one()


def open_month_in_the_ui(page, lang: Lang) -> None:
    """nva is the HR officer: he opens the month for his division from his phone."""
    lang.login(page, "nva")
    open_menu(page)
    page.get_by_role("link", name="Mở kỳ" if lang.vi else "Open month", exact=True).click()
    page.locator("select[name=unit]").select_option(UNIT)
    page.locator("input[name=period]").fill(PERIOD)
    page.locator("input[name=include_subunits]").uncheck()
    page.locator("#open-month-form button[type=submit]").click()
    expect(page.locator("#open-result")).to_contain_text(PERIOD)
    fresh_session()
    assert {
        r.subject.username
        for r in db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.period == PERIOD))
    } == set(STAFF)
    fresh_session()


def self_evaluate(
    page, lang: Lang, username: str, scores: dict, bonus: float, total: float, base_url: str, opened: bool = False
) -> None:
    """One staff member on a phone: inbox, the form (running total), submit. axe on both pages."""
    if not opened:
        lang.login(page, username)
    open_menu(page)
    page.get_by_role("link", name="Việc của tôi" if lang.vi else "My tasks", exact=True).click()
    row = page.locator('#inbox tr[data-step="self_evaluation"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text(NAMES[username])
    assert_no_horizontal_overflow(page)
    assert_accessible(page, base_url)
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Cá nhân tự đánh giá, chấm điểm" if lang.vi else "Self-evaluation and scoring"
    )
    fill_scores(page, scores)
    if bonus:
        page.locator("input[name=bonus]").fill(str(bonus))
        page.locator("[name=bonus_reason]").fill("Sáng kiến số hóa hồ sơ" if lang.vi else "Digitised the files")
    page.locator("textarea[name=comment]").fill(
        f"{NAMES[username]}: hoàn thành nhiệm vụ tháng 3." if lang.vi else f"{NAMES[username]}: March work done."
    )
    expect(page.locator("output.running-total")).to_have_text(lang.num(total))
    assert_no_horizontal_overflow(page)
    assert_accessible(page, base_url)
    shot(page, f"month-{lang.code}-02-self-{username}-phone")
    page.get_by_role("button", name=lang.submit).click()
    expect(page.locator(".flash-success")).to_contain_text(NAMES[username])
    expect(page.locator('#inbox tr[data-step="self_evaluation"]')).to_have_count(0)
    lang.logout(page, username)


def review(
    page,
    lang: Lang,
    reviewer: str,
    username: str,
    total: float,
    proposed: str,
    prefix: str,
    base_url: str | None = None,
) -> None:
    """The reviewer scores one person from their inbox (scores_for: criteria to 90, bonus above);
    axe on the form when `base_url` is given."""
    form = scores_for(total, username == "tptc")
    open_menu(page)
    page.get_by_role("link", name="Việc của tôi" if lang.vi else "My tasks", exact=True).click()
    row = page.locator('#inbox tr[data-step^="review"]', has_text=NAMES[username])
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.locator("html")).to_have_attribute("lang", lang.code)
    fill_scores(page, form["scores"])
    page.locator("input[name=bonus]").fill(str(form["bonus"]))
    if form["bonus"]:
        page.locator("[name=bonus_reason]").fill(form["bonus_reason"])
    page.locator("textarea[name=comment]").fill("Nhận xét của lãnh đạo." if lang.vi else "Manager's comment.")
    page.locator("input[name=days_worked]").fill("21")
    page.locator("select[name=proposed_level]").select_option(proposed)
    expect(page.locator("output.running-total")).to_have_text(lang.num(total))
    if base_url:
        assert_accessible(page, base_url)
    shot(page, f"{prefix}-{username}")
    page.get_by_role("button", name=lang.submit).click()
    expect(page.locator(".flash-success")).to_contain_text(NAMES[username])


def column(batch, index: int) -> list[str]:
    return [t.strip() for t in batch.locator(f"tbody tr td:nth-child({index + 1})").all_inner_texts()]


def names_in_order(batch) -> list[str]:
    by_name = {v: k for k, v in NAMES.items()}
    return [by_name[n] for n in column(batch, 1)]


def expect_quota(batch, count: int, cap: int, over: bool, warning: str | None = None) -> None:
    expect(batch.locator(".quota-count")).to_have_text(str(count))
    expect(batch.locator(".quota-cap")).to_have_text(str(cap))
    if over:
        expect(batch.locator(".quota")).to_have_class(re.compile(r"\bquota-over\b"))
        expect(batch.locator(".quota-warning")).to_be_visible()
        expect(batch.locator(".quota-warning")).to_have_text(re.compile(re.escape(warning)))
        expect(batch.locator(".submit-hint")).to_be_visible()
    else:
        expect(batch.locator(".quota")).not_to_have_class(re.compile(r"\bquota-over\b"))
        expect(batch.locator(".quota-warning")).to_be_hidden()
        expect(batch.locator(".submit-hint")).to_be_hidden()


def lock_by_the_timers(expected_fired: int) -> None:
    """The appeal window closes: what the worker does (`flask timers run`), 30 days later."""
    fresh_session()
    assert timers.run_due(later(30)) == expected_fired
    fresh_session()
    records = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.period == PERIOD)).all()
    assert {r.status for r in records} == {"locked"} and all(r.locked_at for r in records)
    assert db.session.scalar(select(db.func.count()).select_from(HumanTask).where(HumanTask.status == "ready")) == 0
    fresh_session()


# ------------------------------------------------------------------------------------ in Vietnamese
# self: criteria (+ bonus); reviewed: total, proposed level. Two A's among five: over the cap of 1.
SELF_VI = {"nva": (88, 0), "ttb": (89.5, 0), "lvc": (80, 0), "ptd": (75, 0), "tptc": (85, 0)}
REVIEW_VI = {"nva": (100, "A"), "ttb": (90, "A"), "lvc": (80, "B"), "ptd": (65, "C"), "tptc": (85, "B")}


def test_month_of_a_division_in_vietnamese(ctx, live_server, new_page):
    vi = Lang("vi")
    base = live_server.url

    # 1. HR opens the month; 2. every staff member evaluates themselves on a phone --------------
    phone = new_page(PHONE)
    open_month_in_the_ui(phone, vi)
    for i, username in enumerate(STAFF):
        total, bonus = SELF_VI[username]
        self_evaluate(
            phone, vi, username, scores_for(total, username == "tptc")["scores"], bonus, total, base, opened=i == 0
        )
    fresh_session()
    for username in STAFF:
        assert record(username).self_total == SELF_VI[username][0]
    assert {u: ready_task(u, "review").assignee.username for u in STAFF} == {
        "nva": "tptc",
        "ttb": "tptc",
        "lvc": "tptc",
        "ptd": "tptc",
        "tptc": "gd",
    }
    fresh_session()

    # 3. the division head reviews her four people on a desktop ----------------------------------
    manager = new_page(DESKTOP)
    vi.login(manager, "tptc")
    for username in ("nva", "ttb", "lvc", "ptd"):
        review(
            manager,
            vi,
            "tptc",
            username,
            *REVIEW_VI[username],
            prefix="month-vi-03-review",
            base_url=base if username == "nva" else None,
        )
    expect(manager.locator('#inbox tr[data-step^="review"]')).to_have_count(0)

    # 4. the agency head scores the division head, then decides the batch -------------------------
    head = new_page(DESKTOP)
    vi.login(head, "gd")
    review(head, vi, "gd", "tptc", *REVIEW_VI["tptc"], prefix="month-vi-04-review")
    fresh_session()
    for username in STAFF:
        rec = record(username)
        assert (rec.status, rec.total, rec.proposed_level) == ("decision", *REVIEW_VI[username])
        assert ready_task(username, "decision").assignee.username == "gd"
    fresh_session()

    open_menu(head)
    head.get_by_role("link", name="Quyết định", exact=True).click()
    batch = head.locator("article.decision-batch", has=head.get_by_role("heading", name="Sở Nội vụ — tháng 03/2030"))
    expect(batch.locator("tbody tr")).to_have_count(5)
    # as the server counted it: two A's, at most 1 (30 % of 5), the warning in words
    expect(batch.locator(".quota")).to_have_attribute("aria-live", "polite")
    expect_quota(batch, 2, 1, over=True, warning="Vượt tỷ lệ: 2 người loại A, tối đa 1.")
    expect(batch.locator(".quota-basis")).to_have_text("30% của 5 người")
    submit = batch.get_by_role("button", name="Quyết định và công bố")
    expect(submit).to_have_accessible_description(re.compile("^Sẽ bị từ chối nếu gửi: 2 người loại A"))
    expect(batch.locator("tbody tr", has_text="Trần Thị Bình").locator("td").nth(2)).to_have_text("89,5")
    shot(head, "month-vi-05-decision-over-quota")
    assert_accessible(head, base)

    # sort: by the manager's score (numbers: 100 after 90), again (descending), by name with the keyboard
    by_score = batch.locator("th", has=head.get_by_role("button", name="Lãnh đạo chấm", exact=True))
    by_name = batch.locator("th", has=head.get_by_role("button", name="Họ tên", exact=True))
    batch.get_by_role("button", name="Lãnh đạo chấm", exact=True).click()
    expect(by_score).to_have_attribute("aria-sort", "ascending")
    assert names_in_order(batch) == ["ptd", "lvc", "tptc", "ttb", "nva"]
    assert column(batch, 3) == ["65", "80", "85", "90", "100"]
    batch.get_by_role("button", name="Lãnh đạo chấm", exact=True).click()
    expect(by_score).to_have_attribute("aria-sort", "descending")
    assert names_in_order(batch) == ["nva", "ttb", "tptc", "lvc", "ptd"]
    batch.get_by_role("button", name="Họ tên", exact=True).focus()
    head.keyboard.press("Enter")
    expect(by_name).to_have_attribute("aria-sort", "ascending")
    expect(by_score).not_to_have_attribute("aria-sort", re.compile("."))
    assert names_in_order(batch) == BY_NAME
    batch.get_by_role("button", name="Tự chấm", exact=True).click()
    assert names_in_order(batch) == ["ptd", "lvc", "tptc", "nva", "ttb"]  # 75, 80, 85, 88, 89,5

    # the live counter: lower An to B -> within the cap; keep A again -> over; an exceptional month -> 2
    level_an = batch.get_by_label("Loại cho Nguyễn Văn An")
    level_an.select_option("B")
    expect_quota(batch, 1, 1, over=False)
    expect(submit).to_have_accessible_description("")
    level_an.select_option("")
    expect_quota(batch, 2, 1, over=True, warning="Vượt tỷ lệ: 2 người loại A, tối đa 1.")
    exceptional = batch.get_by_label(re.compile("^Tháng đặc biệt"))
    exceptional.fill("Đợt cao điểm tuyển dụng")
    expect_quota(batch, 2, 2, over=False)
    expect(batch.locator(".quota-basis")).to_have_text("40% của 5 người")
    exceptional.fill("")
    expect_quota(batch, 2, 1, over=True, warning="Vượt tỷ lệ: 2 người loại A, tối đa 1.")
    # sent anyway: the server refuses it (422) and nothing is decided
    submit.click()
    expect(head.locator("#decision-error")).to_contain_text("Vượt tỷ lệ loại A: 2 người loại A, tối đa 1")
    fresh_session()
    assert all(record(u).published_at is None for u in STAFF)
    fresh_session()
    level_an.select_option("B")
    batch.get_by_label("Lý do cho Nguyễn Văn An").fill("Bảo đảm tỷ lệ loại A của Sở")
    expect_quota(batch, 1, 1, over=False)
    shot(head, "month-vi-06-decision-within-quota")
    submit.click()
    expect(head.locator(".flash-success")).to_have_text("Đã quyết định xếp loại 5 hồ sơ và công bố kết quả.")
    fresh_session()
    levels = {u: record(u).level for u in STAFF}
    assert levels == {"nva": "B", "ttb": "A", "lvc": "B", "ptd": "C", "tptc": "B"}
    assert all(record(u).status == "published" and record(u).published_at for u in STAFF)
    assert record("nva").rules_applied[-1] == {
        "rule": "decision",
        "level": "B",
        "reason": "Bảo đảm tỷ lệ loại A của Sở",
    }
    batch_event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "batch_decided")).one()
    assert batch_event.actor.username == "gd" and batch_event.details["quota"]["count_a"] == 1
    fresh_session()

    # 5. publication seen by staff; An appeals from his phone; the head keeps the level -----------
    vi.login(phone, "nva")
    open_menu(phone)
    phone.get_by_role("link", name=re.compile("^Thông báo")).click()
    expect(phone.locator("ul.notifications")).to_contain_text("100")
    assert_accessible(phone, base)
    nva_instance = record("nva").instance_id
    fresh_session()
    phone.locator(f'ul.notifications a[href="/instances/{nva_instance}"]').first.click()
    expect(phone.locator("#record-status")).to_have_text("Đã công bố, trong thời hạn kiến nghị")
    expect(phone.locator("#level")).to_have_text("B — Hoàn thành tốt nhiệm vụ")
    expect(phone.locator("#total")).to_have_text("100")
    assert_no_horizontal_overflow(phone)
    assert_accessible(phone, base)
    shot(phone, "month-vi-07-published-phone")
    appeal = phone.locator("#appeal")
    appeal.get_by_label("Nội dung kiến nghị").fill("Đề nghị giữ loại A: điểm 100, hạ loại chỉ vì tỷ lệ.")
    appeal.get_by_role("button", name="Gửi kiến nghị").click()
    expect(phone.locator("#record-status")).to_have_text("Đang giải quyết kiến nghị")
    fresh_session()
    assert ready_task("nva", "appeal_decision").assignee.username == "gd"
    fresh_session()

    open_menu(head)
    head.get_by_role("link", name="Việc của tôi").click()
    head.locator('#inbox tr[data-step="appeal_decision"]', has_text="Nguyễn Văn An").get_by_role("link").click()
    head.get_by_label("Kết quả giải quyết").select_option("keep")
    head.get_by_role("textbox", name="Lý do", exact=True).fill("Giữ nguyên: tỷ lệ loại A của Sở đã đủ.")
    shot(head, "month-vi-08-appeal-answer")
    head.get_by_role("button", name=vi.submit).click()
    expect(head.locator(".flash-success")).to_contain_text("Nguyễn Văn An")
    fresh_session()
    assert (record("nva").status, record("nva").level) == ("locked", "B")

    # 6. the appeal window closes for the others: locked by the timers, seen by staff ---------------
    lock_by_the_timers(expected_fired=4)
    vi.logout(phone, "nva")
    vi.login(phone, "ttb")
    open_menu(phone)
    phone.get_by_role("link", name=re.compile("^Thông báo")).click()
    ttb_instance = record("ttb").instance_id
    fresh_session()
    phone.locator(f'ul.notifications a[href="/instances/{ttb_instance}"]').first.click()
    expect(phone.locator("#record-status")).to_have_text("Đã chốt")
    expect(phone.locator("#level")).to_have_text("A — Hoàn thành xuất sắc nhiệm vụ")
    expect(phone.locator("#total")).to_have_text("90")
    expect(phone.locator("#appeal")).to_have_count(0)
    assert_no_horizontal_overflow(phone)
    assert_accessible(phone, base)
    shot(phone, "month-vi-09-locked-phone")

    for page in (phone, manager, head):
        assert not page.js_errors, page.js_errors


# --------------------------------------------------------------------------------------- in English
SELF_EN = {"nva": (85, 0), "ttb": (89.5, 0), "lvc": (90, 5), "ptd": (70, 0), "tptc": (88, 0)}
REVIEW_EN = {"nva": (92, "A"), "ttb": (90, "A"), "lvc": (85, "B"), "ptd": (72.5, "B"), "tptc": (86, "B")}


def test_month_of_a_division_in_english(ctx, live_server, new_page):
    en = Lang("en")
    base = live_server.url

    phone = new_page(PHONE)
    open_month_in_the_ui(phone, en)
    for i, username in enumerate(STAFF):
        total, bonus = SELF_EN[username]
        self_evaluate(
            phone,
            en,
            username,
            scores_for(total, username == "tptc")["scores"],
            bonus,
            total + bonus,
            base,
            opened=i == 0,
        )
    fresh_session()
    assert record("lvc").self_total == 95 and record("ttb").self_total == 89.5
    assert ready_task("ttb", "review").assignee.username == "tptc"
    fresh_session()

    # the division head reviews on her phone
    manager = new_page(PHONE)
    en.login(manager, "tptc")
    for username in ("nva", "ttb", "lvc", "ptd"):
        review(
            manager,
            en,
            "tptc",
            username,
            *REVIEW_EN[username],
            prefix="month-en-03-review-phone",
            base_url=base if username == "nva" else None,
        )
        assert_no_horizontal_overflow(manager)

    # the agency head, on a phone too: scores the division head, then the batch
    head = new_page(PHONE)
    en.login(head, "gd")
    review(head, en, "gd", "tptc", *REVIEW_EN["tptc"], prefix="month-en-04-review-phone")
    fresh_session()
    assert {u: record(u).total for u in STAFF} == {u: t for u, (t, _) in REVIEW_EN.items()}
    fresh_session()
    open_menu(head)
    head.get_by_role("link", name="Decisions", exact=True).click()
    batch = head.locator("article.decision-batch", has=head.get_by_role("heading", name="Sở Nội vụ — month 03/2030"))
    expect(batch.locator("tbody tr")).to_have_count(5)
    expect_quota(batch, 2, 1, over=True, warning="Over the quota: 2 people at level A, at most 1.")
    expect(batch.locator(".quota-basis")).to_have_text("30% of the 5 people evaluated")
    submit = batch.get_by_role("button", name="Decide and publish")
    expect(submit).to_have_accessible_description(re.compile("^Would be refused if sent: 2 people at level A"))
    expect(batch.locator("tbody tr", has_text="Trần Thị Bình").locator("td").nth(2)).to_have_text("89.5")
    assert_accessible(head, base)
    shot(head, "month-en-05-decision-over-quota-phone")

    # self scores sorted as numbers, with the keyboard: 70, 85, 88, 89.5, 95
    batch.get_by_role("button", name="Self score", exact=True).focus()
    head.keyboard.press("Enter")
    expect(batch.locator("th", has=head.get_by_role("button", name="Self score"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert column(batch, 2) == ["70", "85", "88", "89.5", "95"]
    head.keyboard.press("Space")
    expect(batch.locator("th", has=head.get_by_role("button", name="Self score"))).to_have_attribute(
        "aria-sort", "descending"
    )
    assert names_in_order(batch) == ["lvc", "ttb", "tptc", "nva", "ptd"]
    batch.get_by_role("button", name="By the rules", exact=True).click()
    assert column(batch, 5)[:2] == ["A", "A"]

    # unticking an A brings the count within the cap; ticking it again goes over
    pick_ttb = batch.get_by_label("Select Trần Thị Bình")
    pick_ttb.uncheck()
    expect_quota(batch, 1, 1, over=False)
    pick_ttb.check()
    expect_quota(batch, 2, 1, over=True, warning="Over the quota: 2 people at level A, at most 1.")
    # a level changed below A does not change the count of A's
    batch.get_by_label("Level for Phạm Thị Dung").select_option("C")
    batch.get_by_label("Reason for Phạm Thị Dung").fill("Late on two files")
    expect_quota(batch, 2, 1, over=True, warning="Over the quota: 2 people at level A, at most 1.")
    # an exceptional month: up to 40 % of 5 = 2, live
    batch.get_by_label(re.compile("^Exceptional month")).fill("Peak recruitment month")
    expect_quota(batch, 2, 2, over=False)
    expect(batch.locator(".quota-basis")).to_have_text("40% of the 5 people evaluated")
    expect(submit).to_have_accessible_description("")
    shot(head, "month-en-06-decision-exceptional-phone")
    submit.click()
    expect(head.locator(".flash-success")).to_have_text("Decided 5 evaluations and published the results.")
    expect(head.locator("html")).to_have_attribute("lang", "en")
    fresh_session()
    assert {u: record(u).level for u in STAFF} == {"nva": "A", "ttb": "A", "lvc": "B", "ptd": "C", "tptc": "B"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "batch_decided")).one()
    assert event.details["exceptional_reason"] == "Peak recruitment month"
    assert (event.details["quota"]["count_a"], event.details["quota"]["cap"]) == (2, 2)
    ptd_instance = record("ptd").instance_id
    fresh_session()

    # ptd sees her result in English and appeals; the head answers on his phone
    en.login(phone, "ptd")
    open_menu(phone)
    phone.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(phone.locator("ul.notifications")).to_contain_text("72.5 points")
    assert_accessible(phone, base)
    phone.locator(f'ul.notifications a[href="/instances/{ptd_instance}"]').first.click()
    expect(phone.locator("#record-status")).to_have_text("Published, appeal window open")
    expect(phone.locator("#level")).to_have_text("C — Completed duties")
    expect(phone.locator("#total")).to_have_text("72.5")
    assert_no_horizontal_overflow(phone)
    assert_accessible(phone, base)
    shot(phone, "month-en-07-published-phone")
    phone.locator("#appeal textarea").first.fill("Please review: the two late files were waiting on another unit.")
    phone.locator("#appeal button[type=submit]").click()
    expect(phone.locator("#record-status")).to_have_text("Appeal being answered")
    fresh_session()
    assert ready_task("ptd", "appeal_decision").assignee.username == "gd"
    fresh_session()

    open_menu(head)
    head.get_by_role("link", name="My tasks", exact=True).click()
    head.locator('#inbox tr[data-step="appeal_decision"]', has_text="Phạm Thị Dung").get_by_role("link").click()
    head.locator("select[name=outcome]").select_option("keep")
    head.locator("[name=reason]").fill("Kept: the delay was within her own part of the work.")
    shot(head, "month-en-08-appeal-answer-phone")
    head.get_by_role("button", name=en.submit).click()
    expect(head.locator(".flash-success")).to_contain_text("Phạm Thị Dung")
    fresh_session()
    assert (record("ptd").status, record("ptd").level) == ("locked", "C")

    lock_by_the_timers(expected_fired=4)
    phone.reload()
    expect(phone.locator("#record-status")).to_have_text("Locked")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(phone, base)
    shot(phone, "month-en-09-locked-phone")

    for page in (phone, manager, head):
        assert not page.js_errors, page.js_errors


# ------------------------------------------------------------------------------ Decree 335 quota
def test_live_counter_follows_decree_335(ctx, client, live_server, new_page):
    """Under the 335 scheme the cap is 20 % of the people rated B: lowering the A to B raises it live,
    lowering a B to C lowers it; the server agrees when the batch is sent."""
    from app.models import Unit

    schemes.ensure_seeded()
    schemes.assign(
        db.session.scalars(select(Unit).where(Unit.code == "SNV")).one(), "nd335-2025", "2026-01", user("admin")
    )
    db.session.commit()
    assert Api(client, "nva").post("/cycles", {"unit": UNIT, "period": PERIOD}).status_code == 200
    totals = {"nva": 95, "ttb": 80, "lvc": 80, "ptd": 80, "tptc": 80}
    for name in totals:
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80, name == "tptc", ND335))
    for name, total in totals.items():
        reviewer = Api(client, "gd" if name == "tptc" else "tptc")
        task = next(t for t in reviewer.tasks() if t["step"].startswith("review") and t["subject"]["username"] == name)
        reviewer.complete(task["id"], dict(scores_for(total, name == "tptc", ND335), days_worked=21))
    fresh_session()

    head = new_page(DESKTOP)
    login(head, "gd")
    head.goto("/decisions")
    batch = head.locator("article.decision-batch")
    expect(batch).to_have_attribute("data-rule", "share_of_b")
    expect_quota(batch, 1, 0, over=True, warning="Vượt tỷ lệ: 1 người loại A, tối đa 0.")  # 20 % of 4 B's
    expect(batch.locator(".quota-basis")).to_have_text("20% của 4 người loại B")
    expect(batch.locator(".submit-hint")).not_to_contain_text("tháng đặc biệt")
    batch.get_by_label(re.compile("^Tháng đặc biệt")).fill("Không nâng tỷ lệ theo Nghị định 335")
    expect_quota(batch, 1, 0, over=True, warning="Vượt tỷ lệ: 1 người loại A, tối đa 0.")
    batch.get_by_label(re.compile("^Tháng đặc biệt")).fill("")
    batch.get_by_label("Loại cho Nguyễn Văn An").select_option("B")  # 5 B's: cap 1
    expect_quota(batch, 0, 1, over=False)
    expect(batch.locator(".quota-basis")).to_have_text("20% của 5 người loại B")
    batch.get_by_label("Loại cho Trần Thị Bình").select_option("C")  # 4 B's: cap 0
    expect_quota(batch, 0, 0, over=False)
    expect(batch.locator(".quota-basis")).to_have_text("20% của 4 người loại B")
    batch.get_by_label("Loại cho Trần Thị Bình").select_option("")
    batch.get_by_label("Lý do cho Nguyễn Văn An").fill("Tỷ lệ theo Nghị định 335")
    assert_accessible(head, live_server.url)
    shot(head, "month-335-decision")
    batch.get_by_role("button", name="Quyết định và công bố").click()
    expect(head.locator(".flash-success")).to_contain_text("5 hồ sơ")
    fresh_session()
    assert record("nva").level == "B" and record("ttb").level == "B"
    assert not head.js_errors, head.js_errors
