"""Evidence on a phone (issue #14): the person opens their record at 360 px, attaches a photo through the
file input the camera offers, comments; the manager reads it and answers. Each page: nothing wider than
the screen, every control at least 44 px, axe-core clean, one language per page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, Evidence

from .conftest import PERIOD, user
from .support import Api
from .test_browser import PASSWORD, SHOTS, chromium, expect, live_server  # noqa: F401
from .test_browser_phone import PHONES, _catalog, _check, _names, _phrases
from .test_evidence import PNG

pytestmark = pytest.mark.browser


def _page_check(page, base, english, vietnamese, lang, names):
    """The phone checks of test_browser_phone on the whole page; the one-language check on the evidence and
    comment sections (the history's change descriptions are still written in Vietnamese only)."""
    _check(page, base, english, vietnamese if lang == "vi" else [], lang, names)
    text = page.evaluate(
        "() => document.querySelector('#evidence').innerText + document.querySelector('#comments').innerText"
    )
    for name in names:
        text = text.replace(name, " ")
    foreign = vietnamese if lang == "en" else english
    assert not [p for p in foreign if p in text], (lang, [p for p in foreign if p in text][:5])


def _sign_in(chromium, base, username, lang):
    context = chromium.new_context(base_url=base, locale="vi-VN", **PHONES["360"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form:has(#password) button[type=submit]").click()
    expect(page.locator(".nav-toggle")).to_be_visible()
    return context, page


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_attach_a_photo_and_discuss_it_on_a_phone(ctx, client, live_server, chromium, lang):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    instance_id = db.session.scalars(
        select(EvaluationRecord.instance_id).where(
            EvaluationRecord.subject_id == user("ttb").id, EvaluationRecord.period == PERIOD
        )
    ).one()
    english, vietnamese = _phrases(_catalog())
    names = _names()

    context, page = _sign_in(chromium, live_server.url, "ttb", lang)
    page.goto(f"/instances/{instance_id}")
    _page_check(page, live_server.url, english, vietnamese, lang, names)
    picker = page.locator("#evidence-file")
    assert picker.get_attribute("accept").startswith("image/*,application/pdf")
    picker.set_input_files({"name": "IMG_0001.png", "mimeType": "image/png", "buffer": PNG})
    page.locator("#evidence-upload button[type=submit]").click()
    expect(page.locator(".evidence-list .evidence-name")).to_have_text("IMG_0001.png")
    page.locator("#comment-body").fill("Ảnh biên bản họp giao ban tuần 2.")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator(".comment-body")).to_have_text("Ảnh biên bản họp giao ban tuần 2.")
    _page_check(page, live_server.url, english, vietnamese, lang, names)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"phone-360-{lang}-ttb-evidence.png"), full_page=True)
    context.close()

    row = db.session.scalars(select(Evidence).where(Evidence.instance_id == instance_id)).one()
    assert row.content_type == "image/png" and row.size == len(PNG)

    context, page = _sign_in(chromium, live_server.url, "tptc", lang)
    page.goto(f"/instances/{instance_id}")
    with page.expect_download() as download:
        page.locator(".evidence-list .evidence-name").click()
    assert download.value.suggested_filename == "IMG_0001.png"
    page.locator("#comment-body").fill("Đã xem, đề nghị bổ sung bản ký.")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator(".comment-body")).to_have_count(2)
    _page_check(page, live_server.url, english, vietnamese, lang, names)
    context.close()
