"""The process designer in English (issue #8): every designer page with ?lang=en, the validation findings,
flash messages and API errors in English on English pages and in Vietnamese by default."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessVersion
from app.services.process_design import designer, versions

from .conftest import PASSWORD, csrf_token, user
from .test_designer import BPMN, json_token, login, new_draft

NO_DEFAULT = 'default="revision_no"'

# headings and labels of the Vietnamese pages that must not be left on the English ones
VIETNAMESE = (
    "Mô hình quy trình",
    "Bản nháp #",
    "Phiên bản ",
    "Kiểm tra",
    "Ban hành",
    "Tải về",
    "Chạy thử",
    "Sơ đồ quy trình",
    "Bảng quyết định",
    "Biểu mẫu",
    "So sánh",
    "Chuyển hồ sơ",
    "Lịch sử sửa",
    "Tệp",
    "lỗi phải sửa",
    "Không có lỗi",
    "lưu ý",
)


def _main(html: str) -> str:
    """The page's own content (the shared header and footer are translated elsewhere)."""
    match = re.search(r"<main\b.*?</main>", html, re.S)
    return match.group(0) if match else html


def _no_vietnamese(html: str, url: str) -> None:
    main = _main(html)
    left = [v for v in VIETNAMESE if v in main]
    assert not left, (url, left)


def _broken_draft(client) -> int:
    """A draft whose exclusive gateway lost its default flow: one error, gateway_default on revision_gateway."""
    draft_id = new_draft(client, name="Lỗi cổng rẽ nhánh")
    draft = designer.get_draft(draft_id)
    designer.save_file(draft_id, BPMN, draft.files[BPMN].replace(NO_DEFAULT, ""), user("admin"))
    return draft_id


def test_every_designer_page_is_english_with_lang_en(client):
    login(client, "admin")
    draft_id = new_draft(client)
    current = versions.latest_published()
    pages = {
        "/designer/": (
            "<title>Process model",
            "<h1>Process model</h1>",
            ">Drafts</h2>",
            ">Published versions</h2>",
            ">Create a draft</button>",
            "Version 1",
            "(current)",
        ),
        f"/designer/drafts/{draft_id}": (
            f"<title>Draft #{draft_id}",
            ">File</h2>",
            ">Edit the diagram</a>",
            ">Edit the table</a>",
            ">Edit the form</a>",
            ">Upload</button>",
            ">Check</h2>",
            "No errors — ready to publish",
            ">Publish</h2>",
            ">Discard the draft</button>",
            ">Edit history</h2>",
            "draft created",
            "Process diagram (BPMN)",
        ),
        f"/designer/drafts/{draft_id}/modeler": (
            f"<title>Diagram — draft #{draft_id}",
            ">Save</button>",
            ">Check</button>",
            ">Fit to screen</button>",
            ">Test run</h2>",
            ">Period (YYYY-MM)</label>",
            "Answers per step (JSON)",
            "Loading the diagram…",
            'aria-label="Element properties"',
        ),
        f"/designer/drafts/{draft_id}/dmn/classification.dmn": (
            "<title>Decision table classification.dmn",
            ">Hit policy</label>",
            "UNIQUE — the first matching row",
            ">Save the table</button>",
            "Add a row (before the last one)",
            'aria-label="Row 1, condition 1"',
            ">Order</th>",
            ">Delete</th>",
        ),
        f"/designer/drafts/{draft_id}/forms/review.json": (
            "<title>Form review.json",
            ">Content (JSON)</label>",
            ">Save the form</button>",
            ">Preview</h2>",
            'aria-label="Form preview"',
        ),
        f"/designer/versions/{current.id}": (
            "<title>Version 1",
            "Version 1 — current",
            "A published version cannot change.",
            "Download the whole version (.zip)",
            ">Create a draft from this version</button>",
            'value="Edited from version 1"',
            "Check (against the current organisation)",
        ),
        f"/designer/diff?a={current.id}&b=d{draft_id}": (
            "<title>Compare versions",
            ">Compare</button>",
            f"draft #{draft_id}",
            "Both sides are identical.",
        ),
        f"/designer/versions/{current.id}/migrate": (
            "<title>Move evaluations to version 1",
            "Move running evaluations to version 1",
            "Dry run (nothing changes)",
            "No evaluation is running on an older version.",
        ),
    }
    for url, expected in pages.items():
        resp = client.get(url + ("&" if "?" in url else "?") + "lang=en")
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert '<html lang="en"' in html, url
        for text in expected:
            assert text in html, (url, text)
        _no_vietnamese(html, url)
    # and Vietnamese again when asked: the same pages keep their Vietnamese texts
    page = client.get("/designer/?lang=vi").get_data(as_text=True)
    assert "<h1>Mô hình quy trình</h1>" in page and ">Tạo bản nháp</button>" in page and "Process model" not in page
    page = client.get(f"/designer/drafts/{draft_id}/modeler").get_data(as_text=True)
    assert ">Vừa màn hình</button>" in page and "Fit to screen" not in page


def test_a_validation_finding_is_english_on_the_english_page_and_vietnamese_by_default(client):
    login(client, "admin")
    draft_id = _broken_draft(client)
    vi = "không có nhánh mặc định"
    en = "outgoing flows but no default flow"
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    # Vietnamese only: one language per page
    assert '<html lang="vi"' in page and vi in page and en not in page
    assert ">Lỗi</td>" in page and ">Error</td>" not in page
    assert "2 lỗi phải sửa trước khi ban hành, 1 lưu ý." in page
    page = client.get(f"/designer/drafts/{draft_id}?lang=en").get_data(as_text=True)
    assert en in page and vi not in page
    assert "Errors to fix before publishing: 2, warnings: 1." in page and 'data-code="gateway_default"' in page
    assert ">Error</td>" in page
    _no_vietnamese(page, "draft with a finding")

    # publishing is refused: the error and its details in English
    resp = client.post(
        f"/designer/drafts/{draft_id}/publish?lang=en", data={"note": "x", "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 302  # back to the draft's page (post/redirect/get)
    html = client.get(f"/designer/drafts/{draft_id}?lang=en").get_data(as_text=True)
    assert "The process cannot be published: errors to fix: 2." in html and "còn 2 lỗi" not in html
    assert en in html and vi not in html

    # the JSON API is unchanged: both languages side by side, the modeler's script picks one
    token = json_token(client, draft_id)
    xml = designer.get_draft(draft_id).files[BPMN]
    findings = client.post(
        f"/designer/drafts/{draft_id}/validate.json", json={"xml": xml}, headers={"X-CSRFToken": token}
    ).get_json()["findings"]
    bad = [f for f in findings if f["code"] == "gateway_default"][0]
    assert vi in bad["message"] and en in bad["message_en"] and bad["element"] == "revision_gateway"

    # back in Vietnamese
    page = client.get(f"/designer/drafts/{draft_id}?lang=vi").get_data(as_text=True)
    assert vi in page and "Errors to fix before publishing" not in page


def test_flash_messages_and_errors_follow_the_language(client):
    login(client, "admin")
    page = client.get("/designer/?lang=en").get_data(as_text=True)
    resp = client.post("/designer/drafts", data={"name": "", "csrf_token": csrf_token(page)}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    draft_id = int(re.search(r"Draft #(\d+) created\.", html).group(1))
    assert "<h1>Edited from version 1</h1>" in html  # the default name, in the creator's language
    resp = client.post(
        f"/designer/drafts/{draft_id}/upload?lang=en",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_token(html), "files": (io.BytesIO(b"<x/>"), "bad name.bpmn")},
    )
    assert resp.status_code == 302  # back to the draft's page (post/redirect/get)
    html = client.get(f"/designer/drafts/{draft_id}?lang=en").get_data(as_text=True)
    assert "is not accepted: only .bpmn, .dmn, .json" in html and "không hợp lệ" not in html
    # the migration page: nothing chosen
    current = versions.latest_published()
    page = client.get(f"/designer/versions/{current.id}/migrate").get_data(as_text=True)
    html = client.post(
        f"/designer/versions/{current.id}/migrate", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "No evaluation selected." in html and "Chưa chọn hồ sơ nào." not in html
    # the modeler's data: the role labels in both languages for the lane picker
    model = client.get(f"/designer/drafts/{draft_id}/model.json").get_json()
    roles = {r["role"]: r for r in model["roles"]}
    assert roles["direct_manager"]["label"] == "Lãnh đạo trực tiếp"
    assert roles["direct_manager"]["label_en"] == "Direct manager"
    # the form preview: the errors in both languages, the form in the reader's language
    token = json_token(client, draft_id)
    out = client.post(
        "/designer/forms/preview", json={"name": "x.json", "text": "{not json"}, headers={"X-CSRFToken": token}
    ).get_json()
    assert out["errors"][0].startswith("JSON không hợp lệ") and out["errors_en"][0].startswith("Invalid JSON")
    page = client.get(f"/designer/drafts/{draft_id}/forms/review.json?lang=en").get_data(as_text=True)
    assert "Invalid JSON" not in page
    resp = client.post(
        f"/designer/drafts/{draft_id}/forms/review.json?lang=en",
        data={"text": "{not json", "action": "preview", "csrf_token": csrf_token(page)},
    )
    html = resp.get_data(as_text=True)
    assert "Invalid JSON" in html and "JSON không hợp lệ" not in html
    # a Vietnamese session gets the Vietnamese flash
    client.get("/designer/?lang=vi")
    html = client.post(
        f"/designer/versions/{current.id}/migrate", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Chưa chọn hồ sơ nào." in html


def test_the_diff_page_in_english(client, ctx):
    login(client, "admin")
    draft_id = new_draft(client)
    draft = designer.get_draft(draft_id)
    designer.save_file(draft_id, BPMN, draft.files[BPMN].replace("Tính tổng điểm", "Tính tổng"), user("admin"))
    v1 = db.session.scalars(select(ProcessVersion.id).where(ProcessVersion.version == 1)).one()
    html = client.get(f"/designer/diff?a={v1}&b=d{draft_id}&lang=en").get_data(as_text=True)
    assert f"Version 1 → draft #{draft_id}" in html and "Changed (" in html and ": changed" in html
    assert "For the process engine (SpiffWorkflow)" in html and "Steps changed:" in html
    _no_vietnamese(html, "diff")
    html = client.get(f"/designer/diff?a={v1}&b=d{draft_id}&lang=vi").get_data(as_text=True)
    assert f"Phiên bản 1 → bản nháp #{draft_id}" in html and "Sửa (" in html


def test_the_modeler_scripts_speak_english_on_english_pages():
    """designer.js and designer-form.js pick their texts by <html lang>: every Vietnamese literal of the
    modeler has its English twin (t(vi, en)), and the findings/errors use message_en / errors_en."""
    from pathlib import Path

    static = Path(__file__).resolve().parents[1] / "app" / "static"
    js = (static / "designer.js").read_text(encoding="utf-8")
    assert 'document.documentElement.lang === "en"' in js and "message_en" in js
    # the properties panel's provider and the lint rules live in the modeler bundle's sources
    bundle = Path(__file__).resolve().parents[1] / "frontend" / "designer"
    js += "".join((bundle / name).read_text(encoding="utf-8") for name in ("properties.js", "lint.js"))
    assert "label_en" in js and "message_en" in js
    vietnamese = re.compile(r"[À-ỹđĐ]")
    for lit in re.finditer(r'"(?:[^"\\\n]|\\.)*"', js):
        if vietnamese.search(lit.group(0)):
            assert js[lit.start() - 2 : lit.start()] == "t(", lit.group(0)
    form_js = (static / "designer-form.js").read_text(encoding="utf-8")
    assert "errors_en" in form_js and "documentElement.lang" in form_js


@pytest.mark.browser
def test_the_modeler_in_english_in_chromium(ctx):
    """The modeler's own script in English: the findings summary, the properties panel, the status line and
    the test run, with the step names of the diagram from the catalog."""
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    from .live_server import LiveServer, fresh_session
    from .test_designer import CHROMIUM, CHROMIUM_ARGS, assert_accessible

    draft_id = designer.create_draft(user("admin"), name="Modeler in English").id
    fresh_session()
    with LiveServer(ctx) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            base_url=server.url,
            locale="en-GB",
            timezone_id="Asia/Ho_Chi_Minh",
            viewport={"width": 1440, "height": 1000},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        js_errors = []
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        page.goto("/login?lang=en")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/designer/drafts/{draft_id}/modeler")
        app = page.locator("#modeler-app")
        expect(app).to_have_attribute("data-loaded", "true")
        expect(page.locator("#findings-summary")).to_contain_text("No errors")
        expect(page.locator("#save-status")).to_contain_text("Loaded (revision")
        expect(page.locator("#properties")).to_contain_text("Select an element of the diagram")
        page.locator('#canvas [data-element-id="decision"]').click()
        panel = page.locator("#properties")
        expect(panel.get_by_label("Form (formJsonSchemaFilename)")).to_have_value("decision.json")
        expect(panel.get_by_label("Deadline: the Nth working day of the month after the period")).to_have_value("8")
        expect(panel.get_by_label("Store the answer in the variable (variableName)")).to_have_value("decision")
        page.locator('#canvas [data-element-id="lane_decider"] rect.djs-hit-all').click()
        expect(panel.get_by_label("Role that handles the lane's tasks")).to_have_value("decider")
        expect(panel.get_by_label("Role that handles the lane's tasks").locator("option:checked")).to_contain_text(
            "Head of the agency or unit"
        )
        page.get_by_role("button", name="Test run").click()
        expect(app).to_have_attribute("data-test-run-done", "true")
        expect(page.locator("#test-run-summary")).to_contain_text("ran to the end")
        expect(page.locator('#test-run-path li[data-element="self_evaluation"]')).to_contain_text(
            "Self-evaluation and scoring"
        )
        # a finding on the diagram, in English
        page.locator('#canvas [data-element-id="revision_gateway"]').click()
        panel.get_by_label("Default flow (when no condition holds)").select_option("")
        expect(page.locator("#save-status")).to_contain_text("Unsaved changes")
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.locator("#findings-summary")).to_contain_text("Errors to fix before publishing")
        expect(page.locator("#findings-list")).to_contain_text("but no default flow")
        expect(page.locator("#findings-list")).not_to_contain_text("không có nhánh mặc định")
        assert_accessible(page, server.url, exclude="#canvas")
        page.once("dialog", lambda dialog: dialog.accept())
        page.goto(f"/designer/drafts/{draft_id}/forms/review.json")
        text = page.locator("#schema-text")
        text.fill("{not json")
        expect(page.locator("#preview-errors")).to_contain_text("Invalid JSON")
        assert not js_errors, js_errors
        context.close()
        browser.close()
