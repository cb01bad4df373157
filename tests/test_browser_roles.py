"""The pages issue 16 added or changed, on a phone (360×740 and 390×844, touch), as each role uses them:
a manager's inbox with its filters and the bulk "take as proposed", a staff member's record saying why,
the head's decision batch explaining each proposal, HR's one list and the open-month page refusing a bad
period next to its field. Each page: no horizontal scroll, tap targets ≥ 44 px, axe-core with no
violation, one language. Screenshots go to test-artifacts/screenshots/roles-*.png."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from .conftest import PERIOD, user
from .support import Api, scores_for
from .test_browser import SHOTS, chromium, live_server  # noqa: F401
from .test_browser import PASSWORD, expect
from .test_browser_phone import PHONES, _catalog, _check, _names, _phrases

pytestmark = pytest.mark.browser


def _login(chromium, base: str, phone: str, username: str, lang: str):
    context = chromium.new_context(base_url=base, locale="vi-VN", **PHONES[phone])
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"404 {r.url}") if r.status == 404 else None)  # favicon included
    page.goto(f"/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form:has(#password) button[type=submit]").click()
    expect(page.locator(".nav-toggle")).to_be_visible()
    return context, page, errors


def _record(username):
    from app.extensions import db
    from app.models import EvaluationRecord

    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == PERIOD
        )
    ).one()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"roles-{name}.png"), full_page=True)


@pytest.mark.parametrize("phone", sorted(PHONES))
def test_a_manager_filters_the_inbox_and_takes_self_evaluations_as_proposed(ctx, client, live_server, chromium, phone):
    from .live_server import fresh_session

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    for name, total in (("ttb", 88), ("nva", 91.5), ("lvc", 80)):
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(total))
    fresh_session()
    english, vietnamese = _phrases(_catalog())
    names = _names()
    for lang in ("vi", "en"):
        context, page, errors = _login(chromium, live_server.url, phone, "tptc", lang)
        page.goto("/")
        expect(page.locator("#inbox")).to_be_visible()
        _check(page, live_server.url, english, vietnamese, lang, names)
        # the self-score and the days left are in each row
        row = page.locator(f'#inbox tr[data-task]:has-text("{user("nva").full_name}")')
        expect(row.locator(".self-total")).to_have_text("91,5" if lang == "vi" else "91.5")
        expect(row.locator(".days-left")).to_be_visible()
        # filters behind one summary; a search by name
        page.locator(".inbox-filters > summary").click()
        page.locator("#f-q").fill(user("ttb").full_name)
        page.locator(".inbox-filter-form button[type=submit]").click()
        expect(page.locator("#inbox tr[data-task]")).to_have_count(1)
        _check(page, live_server.url, english, vietnamese, lang, names)
        _shot(page, f"{phone}-{lang}-tptc-inbox-filtered")
        assert not errors, errors
        context.close()

    context, page, errors = _login(chromium, live_server.url, phone, "tptc", "vi")
    page.goto("/")
    for name in ("ttb", "lvc"):
        page.locator(f'#inbox tr[data-task]:has-text("{user(name).full_name}") td.pick label').click()
    page.get_by_role("button", name="Nhận nguyên kết quả tự đánh giá").click()
    expect(page.locator(".flash-success")).to_contain_text("của 2 người")
    _check(page, live_server.url, english, vietnamese, "vi", names)
    _shot(page, f"{phone}-vi-tptc-inbox-after-bulk")
    fresh_session()
    assert _record("ttb").status == "decision" and _record("lvc").status == "decision"
    assert _record("nva").status == "review"
    assert not errors, errors
    context.close()


@pytest.mark.parametrize("phone", sorted(PHONES))
def test_the_head_and_the_person_read_why(ctx, client, live_server, chromium, phone):
    from .live_server import fresh_session

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    tptc = Api(client, "tptc")
    for name, total, proposed in (("ttb", 87.5, "A"), ("lvc", 80, "B"), ("nva", 92, "A")):
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(total))
        tptc.complete(
            tptc.task_for(name, "review")["id"], dict(scores_for(total), days_worked=21, proposed_level=proposed)
        )
    fresh_session()
    english, vietnamese = _phrases(_catalog())
    names = _names()
    ttb_instance = _record("ttb").instance_id
    for lang in ("vi", "en"):
        context, page, errors = _login(chromium, live_server.url, phone, "gd", lang)
        page.goto("/decisions")
        row = page.locator(f'tr[data-instance="{ttb_instance}"]')
        expect(row.locator("small.why")).to_contain_text("cần từ 90 điểm" if lang == "vi" else "needs 90 points")
        _check(page, live_server.url, english, vietnamese, lang, names)
        _shot(page, f"{phone}-{lang}-gd-decisions")
        assert not errors, errors
        context.close()

    context, page, errors = _login(chromium, live_server.url, phone, "gd", "vi")
    page.goto("/decisions")
    page.get_by_role("button", name="Quyết định và công bố").click()
    expect(page.locator(".flash-success")).to_be_visible()
    context.close()
    fresh_session()
    for lang in ("vi", "en"):
        context, page, errors = _login(chromium, live_server.url, phone, "ttb", lang)
        page.goto(f"/instances/{ttb_instance}")
        expect(page.locator("#why")).to_contain_text(
            "Lãnh đạo đề xuất loại A nhưng loại A cần từ 90 điểm; tổng 87,5 điểm → loại B."
            if lang == "vi"
            else "The manager proposed A, but A needs 90 points or more; a total of 87.5 points gives B."
        )
        _check(page, live_server.url, english, vietnamese, lang, names)
        _shot(page, f"{phone}-{lang}-ttb-record")
        page.goto("/notifications")
        expect(page.locator("main")).to_contain_text("cần từ 90 điểm" if lang == "vi" else "needs 90 points")
        _check(page, live_server.url, english, vietnamese, lang, names)
        assert not errors, errors
        context.close()


@pytest.mark.parametrize("phone", sorted(PHONES))
def test_hr_opens_a_month_and_reads_the_one_list(ctx, client, live_server, chromium, phone):
    from .live_server import fresh_session

    english, vietnamese = _phrases(_catalog())
    names = _names()
    for lang in ("vi", "en"):
        context, page, errors = _login(chromium, live_server.url, phone, "nva", lang)
        page.goto("/months/open")
        page.locator("select[name=unit]").select_option("SNV-TCCB")
        page.locator("input[name=period]").fill("2030-13")  # the right shape, no such month
        page.locator("#open-month-form button[type=submit]").click()
        error = page.locator("#period-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("YYYY-MM")
        expect(page.locator("input[name=period]")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#open-progress-box")).to_be_hidden()  # nothing left saying "Opening…"
        assert ("Kỳ đánh giá phải" in error.inner_text()) == (lang == "vi")
        _check(page, live_server.url, english, vietnamese, lang, names)
        _shot(page, f"{phone}-{lang}-nva-open-month-refused")
        assert not errors, errors
        context.close()

    context, page, errors = _login(chromium, live_server.url, phone, "nva", "vi")
    page.goto("/months/open")
    page.locator("select[name=unit]").select_option("SNV-TCCB")
    page.locator("input[name=period]").fill(PERIOD)
    page.locator("input[name=include_subunits]").uncheck()
    page.locator("#open-month-form button[type=submit]").click()
    expect(page.locator("#open-result")).to_contain_text("5 hồ sơ mới")
    expect(page.locator("#period-error")).to_be_hidden()
    fresh_session()
    # the old monthly report is the one list, filtered, with its counts and export
    response = page.goto(f"/reports/monthly?unit=SNV-TCCB&period={PERIOD}")
    assert response.status == 200 and re.search(r"/dashboard/evaluations\?unit=SNV-TCCB&period=" + PERIOD, page.url)
    expect(page.locator("#level-counts")).to_contain_text("chưa có: 5")
    expect(page.locator("#export-monthly")).to_be_visible()
    _check(page, live_server.url, english, vietnamese, "vi", names)
    _shot(page, f"{phone}-vi-nva-list")
    assert not errors, errors
    context.close()


def _anonymous(chromium, base: str, phone: str):
    context = chromium.new_context(base_url=base, locale="vi-VN", **PHONES[phone])
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"404 {r.url}") if r.status == 404 else None)
    return context, page, errors


@pytest.mark.parametrize("phone", sorted(PHONES))
def test_the_newer_pages_on_a_phone_in_one_language(ctx, client, live_server, chromium, phone):
    """The pages added since: the work plan and its approval, the record's evidence upload and comment
    threads, account activation, the forgotten and reset password pages, the city's sign-in button, and
    the process designer as a designer (not an administrator) sees it. Each in both languages at both
    sizes: no sideways scroll, 44 px targets, axe clean, one language."""
    from app.extensions import db
    from app.models import User

    from .live_server import fresh_session

    ctx.config["WORK_PLAN_PHASE"] = True
    ctx.config.update(OIDC_ISSUER="https://sso.hanoi.example", OIDC_CLIENT_ID="danhgia")
    try:
        designer = User(
            username="tkqt",
            full_name="Thiết Kế Quy Trình",
            unit_id=user("admin").unit_id,
            position_group="staff",
            roles="designer",
        )
        designer.set_password(PASSWORD)
        db.session.add(designer)
        user("ttb").sso_subject = "https://sso.hanoi.example|city-0001"  # the unlink form shows
        db.session.commit()
        assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
        ttb = Api(client, "ttb")
        plan = ttb.task_for("ttb", "work_plan")
        lvc = Api(client, "lvc")
        lvc.complete(
            lvc.task_for("lvc", "work_plan")["id"],
            {
                "items": [
                    {"title": "Báo cáo tổng kết quý I", "product": "Báo cáo", "weight": 2, "deadline": "2030-03-10"}
                ]
            },
        )
        approval = Api(client, "tptc").task_for("lvc", "plan_approval")
        record = _record("ttb").instance_id
        fresh_session()
        english, vietnamese = _phrases(_catalog())
        names = _names()
        pages = {
            "ttb": [f"/tasks/{plan['id']}", f"/instances/{record}"],
            "tptc": [f"/tasks/{approval['id']}", f"/instances/{record}"],
            "nva": ["/hr/activation"],
            "tkqt": ["/designer/", "/account/preferences"],
            "admin": ["/admin/users?username=ttb"],
        }
        for lang in ("vi", "en"):
            for username, paths in pages.items():
                context, page, errors = _login(chromium, live_server.url, phone, username, lang)
                for i, path in enumerate(paths):
                    assert page.goto(path).status == 200, (username, path)
                    if path.startswith("/instances/"):
                        expect(page.locator("#comment-form")).to_be_visible()
                        if username == "ttb":
                            expect(page.locator("#evidence-file")).to_be_attached()
                    if path.startswith("/admin/users"):
                        button = page.locator("#sso-unbind button[type=submit]")
                        expect(button).to_have_text(
                            "Gỡ liên kết tài khoản thành phố" if lang == "vi" else "Unlink the city account"
                        )
                    _check(page, live_server.url, english, vietnamese, lang, names)
                    _shot(page, f"{phone}-{lang}-{username}-{i}")
                if username == "tkqt":  # the short menu: the designer sees the designer
                    links = page.eval_on_selector_all(
                        "#site-menu a[href]", "els => els.map(a => a.getAttribute('href'))"
                    )
                    assert "/designer/" in links and "/dashboard" not in links and "/decisions" not in links, links
                assert not errors, errors
                context.close()

            context, page, errors = _anonymous(chromium, live_server.url, phone)
            for path in (f"/login?lang={lang}", "/account/activate", "/account/forgot", "/account/reset"):
                assert page.goto(path).status == 200, path
                if path.startswith("/login"):
                    expect(page.locator("a.sso-login")).to_be_visible()
                    icon = page.request.get(page.locator('link[rel="icon"]').get_attribute("href"))
                    assert icon.status == 200 and "svg" in icon.headers["content-type"]
                _check(page, live_server.url, english, vietnamese, lang, names)
                _shot(page, f"{phone}-{lang}-anonymous-{path.strip('/').split('?')[0].replace('/', '-')}")
            assert not errors, errors
            context.close()
    finally:
        ctx.config["WORK_PLAN_PHASE"] = False
        ctx.config.update(OIDC_ISSUER="", OIDC_CLIENT_ID="")
