"""The keyboard on the inbox (issue 16, item 8): how many Tab presses reach the first control of the page's
own content for a staff member and a manager, on a desktop and on a phone, with and without the skip link.
The skip link is the first stop and is visible when it has focus; the phone's folded menu adds no stop
while it is closed. The figures measured are written to test-artifacts/keyboard-tabs.json."""

from __future__ import annotations

import json

import pytest

from .conftest import PERIOD
from .support import Api, scores_for
from .test_browser import DESKTOP, SHOTS, chromium, live_server  # noqa: F401
from .test_browser import PASSWORD, expect
from .test_browser_phone import PHONES

pytestmark = pytest.mark.browser

# What has focus, as a short name: "skip", "menu:<text>", "main:<tag>", or "header:<text>".
WHERE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  if (el.classList.contains("skip-link")) return "skip";
  const text = (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30);
  if (el.closest("#site-menu")) return "menu:" + text;
  if (el.id === "main") return "main-itself";
  if (el.closest("main")) return "main:" + el.tagName.toLowerCase() + ":" + text;
  return "header:" + text;
}"""


def _tabs_to_main(page, limit: int = 60) -> tuple[int, list[str]]:
    """Tab presses from the top of a freshly loaded page until a control inside <main> has focus."""
    stops = []
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        where = page.evaluate(WHERE)
        stops.append(where)
        if where.startswith("main:"):
            return n, stops
    raise AssertionError(f"no control of the page reached in {limit} presses: {stops}")


def _tabs_with_skip_link(page) -> int:
    page.keyboard.press("Tab")
    assert page.evaluate(WHERE) == "skip"
    page.keyboard.press("Enter")
    for n in range(2, 10):
        page.keyboard.press("Tab")
        if page.evaluate(WHERE).startswith("main:"):
            return n
    raise AssertionError("the skip link does not lead into the page")


def test_the_skip_link_comes_first_and_the_folded_menu_adds_no_stop(ctx, client, live_server, chromium):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    for name in ("nva", "lvc"):  # the manager's inbox has reviews to open; ttb keeps her own task
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(80))
    from .live_server import fresh_session

    fresh_session()
    figures = {}
    for device_name, device in (("desktop-1280", DESKTOP), ("phone-360", PHONES["360"])):
        for username in ("ttb", "tptc"):
            context = chromium.new_context(base_url=live_server.url, locale="vi-VN", **device)
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto("/login")
            page.locator("#username").fill(username)
            page.locator("#password").fill(PASSWORD)
            page.locator("form:has(#password) button[type=submit]").click()
            expect(page.locator("main")).to_be_visible()
            page.goto("/")
            page.wait_for_load_state("load")

            # the first stop is the skip link, on screen while it has focus
            page.keyboard.press("Tab")
            assert page.evaluate(WHERE) == "skip"
            box = page.locator(".skip-link").bounding_box()
            viewport = device["viewport"]
            assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            assert box["height"] >= 44
            expect(page.locator(".skip-link")).to_be_visible()
            if device_name.startswith("phone"):
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"keyboard-skip-link-{username}.png"))

            page.reload()
            page.wait_for_load_state("load")
            without, stops = _tabs_to_main(page)
            page.reload()
            page.wait_for_load_state("load")
            with_skip = _tabs_with_skip_link(page)
            figures[f"{device_name} {username}"] = {"without_skip_link": without, "with_skip_link": with_skip}
            assert stops[0] == "skip"
            assert with_skip == 2  # Tab to the link, Enter, one Tab to the page's first control

            if device_name.startswith("phone"):
                # the folded menu is no stop at all: none of its links or buttons can take focus ...
                assert not [s for s in stops if s.startswith("menu:")], stops
                focusable = page.evaluate(
                    """() => [...document.querySelectorAll('#site-menu a, #site-menu button')]
                          .filter(el => { el.focus(); return document.activeElement === el; }).length"""
                )
                assert focusable == 0
                assert without <= 5, stops  # skip link, brand, language, menu button, the page
                # ... and once opened, its links are reachable right after the menu button
                page.locator(".nav-toggle").click()
                page.keyboard.press("Tab")
                assert page.evaluate(WHERE).startswith("menu:")
            context.close()

    SHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SHOTS.parent / "keyboard-tabs.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


# Anything the header draws that is not a control or its text: list markers of its items, the content of
# ::before / ::after on its items and forms, and a form's margin (each would show as a dot or a gap).
STRAY = """() => {
  const out = [];
  for (const el of document.querySelectorAll("header li, header form, header ul")) {
    const s = getComputedStyle(el);
    if (s.display === "none") continue;
    const name = el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
    if (s.display === "list-item" && s.listStyleType !== "none") out.push(name + " marker " + s.listStyleType);
    for (const pseudo of ["::before", "::after", "::marker"]) {
      const p = getComputedStyle(el, pseudo);
      const content = p.content;
      if (pseudo === "::marker") {
        if (s.display === "list-item" && content !== "none" && s.listStyleType !== "none") out.push(name + pseudo);
      } else if (content && !["none", "normal", '""', '"\u200b"'].includes(content)) {  // Pico's zero-width space
        out.push(name + pseudo + " " + content);
      } else if (content === '""' && p.display !== "none" && (parseFloat(p.width) > 0 || parseFloat(p.height) > 0)) {
        out.push(name + pseudo + " empty box " + p.width + "x" + p.height);
      }
    }
    if (el.tagName === "FORM" && (parseFloat(s.marginBottom) > 0 || parseFloat(s.marginTop) > 0))
      out.push(name + " margin " + s.marginTop + "/" + s.marginBottom);
    if (el.tagName === "LI" && !el.textContent.trim() && !el.querySelector("button, a, input:not([type=hidden])"))
      out.push(name + " empty");
  }
  return out;
}"""


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_phone_header_draws_nothing_but_its_controls(ctx, live_server, chromium, lang):
    """'A small dot after the language switch': the header at 360 px, signed out and signed in."""
    context = chromium.new_context(base_url=live_server.url, locale="vi-VN", **PHONES["360"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"/login?lang={lang}")
    page.wait_for_load_state("load")
    page.locator("header").screenshot(path=str(SHOTS / f"header-360-{lang}-signed-out.png"))
    assert page.evaluate(STRAY) == []
    page.locator("#username").fill("ttb")
    page.locator("#password").fill(PASSWORD)
    page.locator("form:has(#password) button[type=submit]").click()
    expect(page.locator(".nav-toggle")).to_be_visible()
    page.wait_for_load_state("load")
    page.locator("header").screenshot(path=str(SHOTS / f"header-360-{lang}-signed-in.png"))
    assert page.evaluate(STRAY) == []
    page.locator(".nav-toggle").click()
    page.locator("header").screenshot(path=str(SHOTS / f"header-360-{lang}-menu-open.png"))
    assert page.evaluate(STRAY) == []
    context.close()
