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
from .test_browser import PASSWORD, expect, sync_api  # noqa: F401

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
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label) box = label.getBoundingClientRect();
    }
    if (box.height < 44 - 0.5) small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || '').trim().slice(0, 30)}" ${Math.round(box.height)}px`);
  }
  return small;
}"""


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
