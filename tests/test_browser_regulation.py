"""The decision page in a real browser once the month is marked exceptional (issue 12 §6): the marking is
shown instead of the reason field, the live counter keeps the 40 % cap, and the objective cause is
confirmed per row; axe-core checks the page."""

from __future__ import annotations

import re

import pytest

from .conftest import PERIOD
from .live_server import fresh_session
from .support import Api
from .test_browser import (
    DESKTOP,
    assert_accessible,
    chromium,  # noqa: F401
    expect,
    live_server,  # noqa: F401
    login,
    new_page,  # noqa: F401
    record,
    shot,
)
from .test_browser_month import expect_quota
from .test_rules import run_to_decision

pytestmark = pytest.mark.browser


def test_the_page_keeps_the_exceptional_month_and_confirms_the_objective_cause(ctx, client, live_server, new_page):
    run_to_decision(
        client,
        {"nva": 95, "ttb": 92, "lvc": 95, "ptd": 75, "tptc": 85},
        {"lvc": {"days_worked": 8, "objective_cause": "Điều trị tai nạn lao động"}},
    )
    first = [{"instance_id": record(n).instance_id} for n in ("nva", "ptd")]
    assert (
        Api(client, "gd")
        .post(
            "/decisions",
            {"unit": "SNV", "period": PERIOD, "items": first, "exceptional_reason": "Đợt cao điểm sáp nhập"},
        )
        .status_code
        == 200
    )
    fresh_session()

    head = new_page(DESKTOP)
    login(head, "gd")
    head.goto("/decisions")
    batch = head.locator("article.decision-batch")
    expect(batch).to_have_attribute("data-marked", "true")
    expect(batch.locator(".exceptional-marked")).to_contain_text("Đợt cao điểm sáp nhập")
    expect(batch.locator("input.exceptional-reason")).to_have_count(0)
    expect_quota(batch, 2, 2, over=False)  # nva (decided) + ttb: 40 % of 5
    expect(batch.locator(".quota-basis")).to_have_text("40% của 5 người")
    batch.get_by_label("Loại cho Lê Văn Công").select_option("A")  # a third A: over the 40 % cap
    expect_quota(batch, 3, 2, over=True, warning="Vượt tỷ lệ: 3 người loại A, tối đa 2.")
    batch.get_by_label("Loại cho Lê Văn Công").select_option("B")
    expect_quota(batch, 2, 2, over=False)
    batch.get_by_label("Lý do cho Lê Văn Công").fill("Nghỉ do tai nạn lao động")
    batch.get_by_role("checkbox", name=re.compile("^Xác nhận nguyên nhân khách quan")).check()
    assert_accessible(head, live_server.url)
    shot(head, "regulation-decision-exceptional")
    batch.get_by_role("button", name="Quyết định và công bố").click()
    expect(head.locator(".flash-success")).to_contain_text("3 hồ sơ")
    fresh_session()
    assert record("lvc").level == "B" and record("lvc").rules_applied[-1]["rule"] == "objective_cause_confirmed"
    assert record("ttb").level == "A"
    assert not head.js_errors, head.js_errors
