"""Every role's pages on a phone (360×740 and 390×844, touch), in each language: nothing wider than the
screen, every control at least 44 px tall (links inside a sentence excepted, as WCAG allows), axe-core
with no violation, one language per page (the Vietnamese page shows none of the English catalog's texts
and the English page none of the Vietnamese ones, people's and units' names excepted), and the menu
lists only what the role may open (each of its links answers 200). Screenshots of each role's main page
go to test-artifacts/screenshots/phone-*.png.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from .conftest import PERIOD
from .support import Api, scores_for
from .test_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, chromium, live_server, open_menu  # noqa: F401
from .test_browser import PASSWORD, expect, sync_api

pytestmark = pytest.mark.browser

PHONES = {
    "360": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
}

# Each role's pages, the main one first (its screenshot is kept).
ROLES = {
    "ttb": ["/", "/instances", "/notifications", "/account/preferences", "/account/password"],
    "tptc": ["/", "/dashboard", "/instances", "/admin/delegations", "/notifications"],
    "gd": ["/decisions", "/", "/dashboard", "/reports/monthly", "/reports/rollup", "/instances"],
    "nva": ["/dashboard", "/months/open", "/dashboard/evaluations", "/dashboard/tasks", "/reports/monthly"],
    "admin": ["/dashboard", "/admin/schemes", "/admin/calendar", "/designer/", "/instances"],
}
# Menu links a role must never see (their pages would answer 403 or serve nothing of theirs).
NOT_FOR = {
    "ttb": {
        "/decisions",
        "/reports/monthly",
        "/reports/rollup",
        "/dashboard",
        "/months/open",
        "/admin/delegations",
        "/admin/calendar",
        "/admin/schemes",
    },
    "tptc": {"/months/open", "/admin/calendar", "/admin/schemes"},
    "gd": {"/months/open", "/admin/calendar", "/admin/schemes"},
}


def _catalog() -> dict[str, str]:
    path = Path(__file__).resolve().parent.parent / "scripts" / "translations_en.py"
    spec = importlib.util.spec_from_file_location("translations_en", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EN


VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)


def _phrases(catalog: dict[str, str]) -> tuple[list[str], list[str]]:
    """Texts that can only come from one language: several words, different in the other language."""

    def multiword(text: str) -> bool:
        return len(text.split()) >= 3 and "%(" not in text and "{" not in text and len(text) >= 12

    english = [en for vi, en in catalog.items() if multiword(en) and en != vi and not VIETNAMESE_LETTERS.search(en)]
    vietnamese = [vi for vi, en in catalog.items() if multiword(vi) and en != vi and VIETNAMESE_LETTERS.search(vi)]
    return english, vietnamese


def _month_at_the_head(client) -> None:
    """SNV-TCCB's month opened, self-evaluated and reviewed: a batch waits for gd."""
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    totals = {"nva": 95, "ttb": 92, "lvc": 80, "ptd": 75, "tptc": 85}
    for name in totals:
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80, name == "tptc"))
    for name, total in list(totals.items())[:3]:
        reviewer = Api(client, "tptc")
        task = next(t for t in reviewer.tasks() if t["step"] == "review" and t["subject"]["username"] == name)
        reviewer.complete(task["id"], dict(scores_for(total), days_worked=21))


TAP_TARGETS = """() => {
  const small = [];
  const inSentence = el => el.tagName === 'A' && el.closest('p, small, .instructions, dd, label, legend, caption');
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary')) {
    if (el.type === 'hidden' || inSentence(el)) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;            // folded away (the closed menu)
    if (box.right <= 0) continue;                                  // the skip link, until it has focus
    if (el.type === 'checkbox' || el.type === 'radio' || el.type === 'file') {
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label) box = label.getBoundingClientRect();
    }
    if (box.height < 44 - 0.5) small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || '').trim().slice(0, 30)}" ${Math.round(box.height)}px`);
  }
  return small;
}"""


# What a file input may show, per language: its label (the button) and the chosen-name line before a
# choice. The browser's own button ("Choose file" / "Chọn tệp" in the browser's language, whatever the
# page's) must never show: the input is visually hidden behind the label.
FILE_LABELS = {
    "vi": {"Chọn tệp", "Chụp ảnh", "Chụp ảnh hoặc chọn tệp"},
    "en": {"Choose file", "Take a photo", "Take a photo or choose a file"},
}
NO_FILE = {"vi": "Chưa chọn tệp", "en": "No file chosen"}
FILE_INPUTS = """() => [...document.querySelectorAll('input[type=file]')].map(input => {
  const box = input.getBoundingClientRect();
  const style = getComputedStyle(input);
  const label = input.id ? document.querySelector(`label.file-button[for="${input.id}"]`) : null;
  const shown = input.parentNode.querySelector('.file-name');
  const rendered = label && label.getClientRects().length > 0;   // a closed <details> (replace a file)
  return {
    id: input.id,
    hidden: box.width <= 1 && box.height <= 1 && (style.opacity === '0' || style.clip === 'rect(0px, 0px, 0px, 0px)'),
    focusable: input.tabIndex >= 0 && !input.disabled && style.display !== 'none' && style.visibility !== 'hidden',
    label: label ? label.textContent.trim() : null,
    labelHeight: rendered ? label.getBoundingClientRect().height : null,
    chosen: shown ? shown.textContent.trim() : null,
    chosenShown: shown ? getComputedStyle(shown).display !== 'none' : false,
  };
})"""


def check_file_inputs(page, lang: str, chosen: bool = False) -> int:
    """Every file input of the page: visually hidden but focusable, behind a label in the page's language
    (44 px when shown), with the page's "no file chosen" beside it. Returns how many there were."""
    inputs = page.evaluate(FILE_INPUTS)
    for f in inputs:
        where = f"{page.url} ({lang}) #{f['id']}"
        assert f["hidden"], f"{where}: the browser's own file button shows: {f}"
        assert f["focusable"], f"{where}: the file input left the tab order: {f}"
        assert f["label"] in FILE_LABELS[lang], f"{where}: its button says {f['label']!r}"
        assert f["labelHeight"] is None or f["labelHeight"] >= 44 - 0.5, f"{where}: {f['labelHeight']}px button"
        if not chosen:
            assert f["chosen"] == NO_FILE[lang] and f["chosenShown"], f"{where}: beside it: {f['chosen']!r}"
    return len(inputs)


def _names() -> list[str]:
    """What people typed or imported (units' and people's names): allowed in either language."""
    from app.extensions import db
    from app.models import Unit, User

    names = list(db.session.scalars(select(Unit.name))) + list(db.session.scalars(select(User.full_name)))
    return sorted(names, key=len, reverse=True)


def _check(
    page, base_url: str, english_phrases: list[str], vietnamese_phrases: list[str], lang: str, names: list[str] = ()
) -> None:
    # measured once the page and its stylesheet are in: on a loaded machine a page caught mid-load is
    # wider for a moment (unstyled), which is not what a person sees; a real overflow stays
    page.wait_for_load_state("load")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    for _ in range(5):
        if width <= page.viewport_size["width"]:
            break
        page.wait_for_timeout(300)
        width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > w && ![...el.children].some(c => c.getBoundingClientRect().right > w))
            .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""",
            page.viewport_size["width"],
        )
        raise AssertionError(f"{page.url}: {width}px wide on a {page.viewport_size['width']}px screen: {wide}")
    check_file_inputs(page, lang)
    small = page.evaluate(TAP_TARGETS)
    assert not small, f"{page.url}: tap targets under 44 px: {small[:8]}"
    page.add_script_tag(url=f"{base_url}/static/vendor/axe.min.js")
    result = page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})")
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert not violations, f"axe on {page.url}: {violations}"
    text = page.evaluate("() => document.body.innerText")
    for name in names:
        text = text.replace(name, " ")
    foreign = vietnamese_phrases if lang == "en" else english_phrases
    leaked = [p for p in foreign if p in text]
    assert not leaked, f"{page.url} ({lang}) shows texts of the other language: {leaked[:5]}"


@pytest.mark.parametrize("phone", sorted(PHONES))
def test_every_role_on_a_phone_in_one_language(ctx, client, live_server, chromium, phone):
    _month_at_the_head(client)
    english, vietnamese = _phrases(_catalog())
    names = _names()
    base = live_server.url
    for lang in ("vi", "en"):
        for username, paths in ROLES.items():
            context = chromium.new_context(base_url=base, locale="vi-VN", **PHONES[phone])
            context.set_default_timeout(10_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"/login?lang={lang}")
            page.locator("#username").fill(username)
            page.locator("#password").fill(PASSWORD)
            page.locator("form:has(#password) button[type=submit]").click()
            expect(page.locator(".nav-toggle")).to_be_visible()
            # the menu: folded, one tap opens it, and it offers only what the role may open
            expect(page.locator("#site-menu")).to_be_hidden()
            open_menu(page)
            expect(page.locator("#site-menu")).to_be_visible()
            links = page.eval_on_selector_all("#site-menu a[href]", "els => els.map(a => a.getAttribute('href'))")
            assert not set(links) & NOT_FOR.get(username, set()), (username, links)
            for href in links:
                assert page.request.get(href).status == 200, (username, href)
            for i, path in enumerate(paths):
                response = page.goto(path)
                assert response.status == 200, (username, path, response.status)
                _check(page, base, english, vietnamese, lang, names)
                if i == 0:
                    open_menu(page)
                    _check(page, base, english, vietnamese, lang, names)  # the open menu too
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(SHOTS / f"phone-{phone}-{lang}-{username}.png"), full_page=True)
            assert not errors, errors
            context.close()


def test_staff_form_on_a_phone_fits_three_screens_and_its_totals_agree_with_the_server(
    ctx, client, live_server, chromium
):
    """ttb self-evaluates at 390×844 in Vietnamese: the form is at most three screens tall; "4,5" and
    "4.5" are both numbers; a score over its maximum is flagged at once next to its field while its
    group's subtotal counts it at the maximum, as the total does; the subtotals and the total the page
    shows are the ones the server stores."""
    from app.extensions import db
    from app.models import EvaluationRecord

    from .conftest import user
    from .live_server import fresh_session

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    task_id = Api(client, "ttb").task_for("ttb", "self_evaluation")["id"]
    fresh_session()
    context = chromium.new_context(base_url=live_server.url, locale="vi-VN", **PHONES["390"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.locator("#username").fill("ttb")
    page.locator("#password").fill(PASSWORD)
    page.locator("form:has(#password) button[type=submit]").click()
    page.goto(f"/tasks/{task_id}")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= 3 * 844, f"the staff form is {height}px tall: more than three 844px screens"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-390-vi-ttb-self-evaluation.png"), full_page=True)

    box = page.locator('input[name="scores[I.3]"]')
    box.fill("7")  # over its maximum of 5
    expect(page.locator("#f-scores-I-3-live")).to_have_text("Cao hơn mức tối đa 5 điểm.")
    expect(box).to_have_attribute("aria-invalid", "true")
    for code, value in {"I.1": "4,5", "I.2": "5", "I.4": "4.5", "II.1": "24,5", "II.2": "23", "II.3": "19,5"}.items():
        page.locator(f'input[name="scores[{code}]"]').fill(value)
    subtotal = page.locator('output.running-subtotal[data-group="I"]')
    expect(subtotal).to_have_text("19")  # 4,5 + 5 + 5 (7 counted as 5) + 4,5
    expect(page.locator(".group-total:has(output[data-group='I'])")).not_to_have_class(re.compile("over"))
    box.fill("4,5")
    expect(page.locator("#f-scores-I-3-live")).to_have_count(0)
    expect(subtotal).to_have_text("18,5")
    expect(page.locator('output.running-subtotal[data-group="II"]')).to_have_text("67")
    expect(page.locator("output.running-total")).to_have_text("85,5")
    page.get_by_role("button", name="Gửi").click()
    expect(page).to_have_url(re.compile(r"/$|/\?"))
    fresh_session()
    stored = db.session.scalars(
        select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id, EvaluationRecord.period == PERIOD)
    ).one()
    assert stored.self_total == 85.5
    context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_file_input_speaks_the_pages_language_with_or_without_javascript(
    ctx, client, live_server, chromium, lang
):
    """The file inputs (the task form's photo and file per item, the record's evidence upload and its
    "replace", the designer's upload), at 360 px in each language: the browser's own button never shows
    (the input is visually hidden behind a label in the page's language, 44 px); Tab reaches the input
    and its focus ring is drawn on the label; Space opens the picker; the chosen name appears beside it.
    Without JavaScript the label still opens the picker and the upload goes through (the name line, which
    only the script keeps true, is then hidden)."""
    from app.extensions import db
    from app.models import EvaluationRecord, Evidence
    from .conftest import user
    from .live_server import fresh_session
    from .test_designer import login as client_login
    from .test_designer import new_draft
    from .test_evidence import PNG
    from .test_work_plans import period_ends

    ctx.config["WORK_PLAN_PHASE"] = True
    try:
        assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
        ttb, tptc = Api(client, "ttb"), Api(client, "tptc")
        ttb.complete(
            ttb.task_for("ttb", "work_plan")["id"],
            {"items": [{"title": "Báo cáo quý", "product": "Báo cáo", "weight": 1, "deadline": "2030-03-10"}]},
        )
        tptc.complete(tptc.task_for("ttb", "plan_approval")["id"], {"approve": True})
        period_ends()
        task = ttb.task_for("ttb", "self_evaluation")["id"]
        record = db.session.scalars(
            select(EvaluationRecord.instance_id).where(
                EvaluationRecord.subject_id == user("ttb").id, EvaluationRecord.period == PERIOD
            )
        ).one()
        client_login(client, "admin")
        draft = new_draft(client)
        fresh_session()
        english, vietnamese = _phrases(_catalog())
        names = _names()
        base = live_server.url

        def sign_in(username: str, js: bool):
            context = chromium.new_context(base_url=base, locale="vi-VN", java_script_enabled=js, **PHONES["360"])
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto(f"/login?lang={lang}")
            page.locator("#username").fill(username)
            page.locator("#password").fill(PASSWORD)
            page.locator("form:has(#password) button[type=submit]").click()
            expect(page.locator("#username")).to_have_count(0)
            return context, page

        # with JavaScript: the checks of every phone page, then the keyboard and the chosen name
        for username, path, inputs in (
            ("ttb", f"/tasks/{task}", ["f-items-0-evidence-photo", "f-items-0-evidence-file"]),
            ("ttb", f"/instances/{record}", ["evidence-file"]),
            ("admin", f"/designer/drafts/{draft}", ["upload-files"]),
        ):
            context, page = sign_in(username, True)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            assert page.goto(path).status == 200, path
            _check(page, base, english, vietnamese if lang == "vi" else [], lang, names)
            assert check_file_inputs(page, lang) >= len(inputs), path  # the task form keeps a hidden row to copy
            for ident in inputs:
                field = page.locator(f"#{ident}")
                assert page.locator(f"#{ident}").get_attribute("accept")
                if ident.endswith("-photo"):
                    assert field.get_attribute("capture") == "environment"
                field.focus()
                page.keyboard.press("Shift+Tab")
                page.keyboard.press("Tab")
                assert page.evaluate("() => document.activeElement.id") == ident
                ring = page.evaluate(
                    f"() => getComputedStyle(document.querySelector('label[for=\"{ident}\"]')).outlineStyle"
                )
                assert ring == "solid", (path, ident, ring)
                # Space opens the picker. Chromium's "file chooser opened" event to Playwright is sometimes
                # lost on a busy machine (microsoft/playwright#28023); a second press is a person's
                # second press, the picker itself was never refused
                chooser = None
                for _ in range(3):
                    try:
                        with page.expect_file_chooser(timeout=3000) as chooser:
                            page.keyboard.press("Space")
                        break
                    except sync_api.TimeoutError:
                        chooser = None
                        assert page.evaluate("() => document.activeElement.id") == ident
                assert chooser is not None, f"{path} #{ident}: Space opened no picker"
                assert chooser.value.element.get_attribute("id") == ident
                chooser.value.set_files({"name": f"{ident}.png", "mimeType": "image/png", "buffer": PNG})
                expect(page.locator(f"#{ident}-name")).to_have_text(f"{ident}.png")
            assert not errors, errors
            context.close()

        # without JavaScript: the label opens the picker and the record's upload goes through
        context, page = sign_in("ttb", False)
        page.goto(f"/instances/{record}")
        assert check_file_inputs(page, lang, chosen=True) == 1
        assert not page.locator("#evidence-file-name").is_visible()
        with page.expect_file_chooser() as chooser:
            page.locator('label[for="evidence-file"]').click()
        chooser.value.set_files({"name": "bien-ban.png", "mimeType": "image/png", "buffer": PNG})
        page.locator("#evidence-upload button[type=submit]").click()
        expect(page.locator(".evidence-list .evidence-name")).to_have_text("bien-ban.png")
        context.close()
        fresh_session()
        assert db.session.scalars(select(Evidence.name).where(Evidence.instance_id == record)).all() == ["bien-ban.png"]

        # the record with a file: its "replace" control speaks the page's language as well
        context, page = sign_in("ttb", True)
        page.goto(f"/instances/{record}")
        assert check_file_inputs(page, lang) == 2
        page.locator(
            "details:has(#replace-file-" + str(db.session.scalars(select(Evidence.id)).one()) + ") summary"
        ).click()
        assert check_file_inputs(page, lang) == 2
        context.close()
    finally:
        ctx.config["WORK_PLAN_PHASE"] = False
