"""The real editors in Chromium (issue #15): the decision table in dmn-js, a property in the
bpmn-js-properties-panel provider, a bpmnlint finding on the diagram, the structured form editor,
and the palette beside (not over) the lane headers."""

from __future__ import annotations

import pytest
from lxml import etree

from app.extensions import db
from app.models import ProcessDraft
from app.services.process_design import designer

from .conftest import PASSWORD, user
from .test_designer import CHROMIUM, CHROMIUM_ARGS, SHOTS, assert_accessible, fixture


@pytest.mark.browser
def test_dmn_js_the_properties_panel_lint_and_the_form_editor(ctx):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    from .live_server import LiveServer, fresh_session

    admin = user("admin")
    draft = designer.create_draft(admin, name="Trình soạn thảo thật")
    draft_id = draft.id
    designer.save_file(draft_id, "party_cell_comment.json", fixture("party_cell_comment.json"), admin)
    fresh_session()
    with LiveServer(ctx) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            base_url=server.url,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            viewport={"width": 1440, "height": 1000},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        js_errors, csp = [], []
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        page.on("console", lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto("/login")
        page.get_by_label("Tên đăng nhập").fill("admin")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()

        # the modeler: the palette sits beside the lane headers, not over them
        page.goto(f"/designer/drafts/{draft_id}/modeler")
        app = page.locator("#modeler-app")
        expect(app).to_have_attribute("data-loaded", "true")
        palette = page.locator(".djs-palette").bounding_box()
        lane = page.locator('#canvas g.djs-shape[data-element-id="lane_subject"]').bounding_box()
        assert lane["x"] >= palette["x"] + palette["width"], (palette, lane)

        # a property in the properties panel (the app's provider): the review's deadline
        page.locator('#canvas [data-element-id="review"]').click()
        panel = page.locator("#properties")
        deadline = panel.get_by_label("Hạn: ngày làm việc thứ N của tháng sau kỳ")
        expect(deadline).to_have_value("5")
        expect(panel.get_by_label("Biểu mẫu (formJsonSchemaFilename)")).to_have_value("review.json")
        deadline.fill("6")
        deadline.blur()
        expect(page.locator("#save-status")).to_contain_text("chưa lưu")

        # bpmnlint, live: a gateway without its default flow is flagged on the diagram at once
        gateway_lint = page.locator('.djs-overlays[data-container-id="revision_gateway"] .bjsl-overlay')
        expect(gateway_lint).to_have_count(0)
        page.locator('#canvas [data-element-id="revision_gateway"]').click()
        panel.get_by_label("Nhánh mặc định (khi không điều kiện nào đúng)").select_option("")
        expect(gateway_lint).to_have_count(1)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "designer-lint.png"), full_page=True)
        panel.get_by_label("Nhánh mặc định (khi không điều kiện nào đúng)").select_option("revision_no")
        expect(gateway_lint).to_have_count(0)
        page.locator("#btn-save").click()
        expect(page.locator("#save-status")).to_contain_text("Đã lưu")

        # the decision table in dmn-js: change a cell, save; the app's checks come back
        page.goto(f"/designer/drafts/{draft_id}/dmn/classification.dmn")
        dmn = page.locator("#dmn-app")
        expect(dmn).to_have_attribute("data-loaded", "true")
        cell = page.locator('#dmn-canvas td[data-row-id="rule_a"][data-col-id="input_total"]')
        expect(cell).to_contain_text(">= 90")
        cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(">= 92")
        page.locator("#dmn-canvas h3, #dmn-canvas .tjs-table-head, #dmn-canvas th").first.click()
        page.locator("#dmn-save").click()
        expect(dmn).to_have_attribute("data-saved-revision", __import__("re").compile(r"\d+"))
        expect(page.locator("#dmn-status")).to_contain_text("Đã lưu")
        # an entry the app cannot run: refused on save, its row marked in the table, then fixed
        bad_row = page.locator('#dmn-canvas td[data-row-id="rule_a"].finding-cell-error')
        expect(bad_row).to_have_count(0)
        cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("[90..100]")
        page.locator("#dmn-canvas h3, #dmn-canvas .tjs-table-head, #dmn-canvas th").first.click()
        page.locator("#dmn-save").click()
        expect(page.locator("#dmn-status")).to_contain_text("còn lỗi phải sửa")
        expect(page.locator('#dmn-findings li[data-element="rule_a"]')).to_have_count(1)
        assert bad_row.count() >= 1
        cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(">= 92")
        page.locator("#dmn-canvas h3, #dmn-canvas .tjs-table-head, #dmn-canvas th").first.click()
        page.locator("#dmn-save").click()
        expect(page.locator("#dmn-status")).to_have_text("Đã lưu")
        expect(bad_row).to_have_count(0)
        # a hit policy the engine does not apply as written: refused on save, the table marked
        table_mark = page.locator("#dmn-canvas .decision-table-properties.finding-cell-error")
        policy = page.locator("#dmn-canvas .hit-policy .dms-input")
        policy.focus()
        for key in ("ArrowDown", "ArrowDown", "ArrowDown", "Enter"):  # open, First, Priority, close
            page.keyboard.press(key)
        expect(page.locator("#dmn-canvas .hit-policy .dms-input")).to_have_text("Priority")
        page.locator("#dmn-save").click()
        expect(page.locator("#dmn-status")).to_contain_text("còn lỗi phải sửa")
        expect(page.locator('#dmn-findings li[data-element="classification"]')).to_contain_text("PRIORITY")
        expect(table_mark).to_have_count(1)
        policy.focus()
        for key in ("ArrowDown", "ArrowUp", "Enter"):  # open, First, close
            page.keyboard.press(key)
        expect(policy).to_have_text("First")
        # and a column more: an input the designer adds in dmn-js (its cells match anything until filled)
        inputs = page.locator("#dmn-canvas th.input-cell")
        before_columns = inputs.count()
        page.locator("#dmn-canvas .add-input button").click()
        page.keyboard.press("Escape")
        expect(inputs).to_have_count(before_columns + 1)
        page.locator("#dmn-save").click()
        expect(page.locator("#dmn-status")).to_have_text("Đã lưu")
        expect(table_mark).to_have_count(0)
        assert_accessible(page, server.url, exclude="#dmn-canvas")
        page.screenshot(path=str(SHOTS / "designer-dmn-js.png"), full_page=True)

        # the structured form editor with its live preview
        page.goto(f"/designer/drafts/{draft_id}/forms/party_cell_comment.json")
        row = page.locator('#field-rows fieldset[data-field="party_comment"]')
        label = row.get_by_label("Nhãn (tiếng Việt)")
        label.fill("Góp ý của chi bộ (sửa)")
        label.press("Tab")
        expect(page.locator("#schema-text")).to_have_value(__import__("re").compile("Góp ý của chi bộ \\(sửa\\)"))
        expect(page.locator("#form-preview")).to_contain_text("Góp ý của chi bộ (sửa)")
        page.get_by_role("button", name="Thêm trường").click()
        expect(page.locator('#field-rows fieldset[data-field="field_1"]')).to_have_count(1)
        expect(page.locator("#form-preview")).to_contain_text("Trường mới")
        page.get_by_role("button", name="Lưu biểu mẫu").click()
        assert_accessible(page, server.url)
        page.screenshot(path=str(SHOTS / "designer-form-fields.png"), full_page=True)
        assert not js_errors, js_errors
        assert not csp, csp
        context.close()
        browser.close()
    fresh_session()
    files = db.session.get(ProcessDraft, draft_id).files
    assert "review_due = wd_deadline(period, 6, opened_at)" in files["monthly_evaluation.bpmn"]
    assert 'default="revision_no"' in files["monthly_evaluation.bpmn"]
    dmn_root = etree.fromstring(files["classification.dmn"].encode())
    texts = [t.text for t in dmn_root.iter("{*}text")]
    assert "&gt;= 92" in files["classification.dmn"] or ">= 92" in texts, texts
    table = next(el for el in dmn_root.iter("{*}decisionTable"))
    assert table.get("hitPolicy") == "FIRST" and len(table.findall("{*}input")) == 2, etree.tostring(table)[:300]
    assert (
        '"field_1"' in files["party_cell_comment.json"] and "Góp ý của chi bộ (sửa)" in files["party_cell_comment.json"]
    )


@pytest.mark.browser
def test_the_migration_page_moves_batch_by_batch_with_a_progress_bar(ctx, client, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    from sqlalchemy import select

    from app.models import AuditEvent, ProcessInstance
    from app.services.process_design import versions

    from .conftest import PERIOD
    from .live_server import LiveServer, fresh_session
    from .support import Api

    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).get_json()["started"] == 5
    files = versions.files_from_disk()
    bpmn = next(n for n in files if n.endswith(".bpmn"))
    files[bpmn] = files[bpmn].replace("</bpmn:definitions>", "<!-- v2 -->\n</bpmn:definitions>")
    v2 = versions.publish(files, note="v2")
    db.session.commit()
    v2_id = v2.id
    monkeypatch.setattr(designer, "BATCH", 2)  # 5 instances: batches of 2, 2 and 1
    fresh_session()
    with LiveServer(ctx) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=server.url, locale="vi-VN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        js_errors = []
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        page.goto("/login")
        page.get_by_label("Tên đăng nhập").fill("admin")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.goto(f"/designer/versions/{v2_id}/migrate")
        expect(page.locator('#migration-plan tr[data-can-move="yes"]')).to_have_count(5)
        page.get_by_role("button", name="Chuyển các hồ sơ đã chọn").click()
        expect(page.locator("#migrate-form")).to_have_attribute("data-finished", "true")
        expect(page.locator("#migration-status")).to_have_text("Đã xử lý 5/5 hồ sơ, đã chuyển 5.")
        assert page.locator("#migration-bar").evaluate("el => [el.value, el.max]") == [5, 5]
        expect(page.locator('#migration-plan tr[data-moved="yes"]')).to_have_count(5)
        assert_accessible(page, server.url)
        assert not js_errors, js_errors
        context.close()
        browser.close()
    fresh_session()
    batches = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "migration_batch").order_by(AuditEvent.id)
    ).all()
    assert [(b.details["batch"], b.details["done"], b.details["total"]) for b in batches] == [
        (1, 2, 5),
        (2, 4, 5),
        (3, 5, 5),
    ]
    assert {i.version_id for i in db.session.scalars(select(ProcessInstance))} == {v2_id}
