"""Activation on a 360 px phone in Chromium: the mailed link fills the code in and leaves the address
bar, touch targets are 44 px, nothing scrolls sideways, axe passes, one language at a time."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.organisation import accounts, activation, orgimport

from .conftest import user
from .live_server import fresh_session
from .test_browser import (
    PHONE,
    assert_accessible,
    assert_no_horizontal_overflow,
    chromium,  # noqa: F401
    expect,
    live_server,  # noqa: F401
    new_page,  # noqa: F401
)

pytestmark = pytest.mark.browser


def test_activation_on_a_phone(ctx, live_server, new_page):
    orgimport.import_org({"people": [{"username": "moi1", "full_name": "Nguyễn Văn Mới", "unit": "SNV-TCCB"}]})
    secret = activation._issue(user("moi1"), "activation", "mail")
    db.session.commit()
    fresh_session()

    page = new_page(PHONE)
    page.goto(f"/account/activate#{secret}")
    expect(page.get_by_role("heading", name="Kích hoạt tài khoản")).to_be_visible()
    expect(page.get_by_label("Mã", exact=True)).to_have_value(secret)
    assert "#" not in page.url  # the code left the address bar and history
    assert_no_horizontal_overflow(page)
    assert_accessible(page, live_server.url)
    for control in (
        page.get_by_label("Mã", exact=True),
        page.get_by_role("button", name="Đặt mật khẩu"),
        page.get_by_role("link", name="Quay lại đăng nhập"),
    ):
        assert control.bounding_box()["height"] >= 44
    page.locator("#new").fill("SenVang-2030x")
    page.locator("#confirm").fill("SenVang-2030x")
    page.get_by_role("button", name="Đặt mật khẩu").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("Đã đặt mật khẩu.")).to_be_visible()
    fresh_session()
    assert accounts.sign_in("moi1", "SenVang-2030x").user is not None

    page.goto("/account/activate")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("heading", name="Activate your account")).to_be_visible()
    expect(page.get_by_text("Kích hoạt tài khoản")).to_have_count(0)
    page.get_by_label("Code", exact=True).fill(secret)
    page.locator("#new").fill("KhacNua-2030x")
    page.locator("#confirm").fill("KhacNua-2030x")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("The code is wrong, used or expired").first).to_be_visible()
    expect(page.get_by_text("Mã không đúng")).to_have_count(0)
    assert_no_horizontal_overflow(page)
    assert_accessible(page, live_server.url)
    assert page.js_errors == []
