"""Accounts activated, not handed out: mailed links and printed codes (single use, expiring, stored as
hashes), "Quên mật khẩu" (the same answer for everyone, rate-limited), pages in one language, nothing
secret in a log or on a terminal. Mail goes through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AccountToken, AuditEvent, OutgoingMail
from app.services.messaging import mail
from app.services.organisation import accounts, activation, orgimport

from .conftest import PASSWORD, csrf_token, user
from .test_mail import mail_on, smtp  # noqa: F401 — fixtures
from .test_pages import login

NEW = [
    {
        "username": "moi1",
        "full_name": "Nguyễn Văn Mới",
        "unit": "SNV-TCCB",
        "email": "moi1@snv.hanoi.gov.vn",
        "manager": "tptc",
    },
    {"username": "moi2", "full_name": "Trần Thị Không Thư", "unit": "SNV-TCCB", "manager": "tptc"},
    {
        "username": "moi3",
        "full_name": "Lê Văn Ba",
        "unit": "SNV-CCVC",
        "email": "moi3@snv.hanoi.gov.vn",
        "manager": "tpcc",
    },
]
CHOSEN = "SenVang-2030x"


def _cli(ctx, *args):
    return ctx.test_cli_runner().invoke(args=list(args))


def _code_in(body: str) -> str:
    return re.search(r"#([A-Z0-9]{32})\b", body).group(1)


def _set_password(client, path, code, password=CHOSEN, confirm=None):
    page = client.get(path)
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "code": code,
            "new": password,
            "confirm": confirm or password,
        },
    )


@pytest.fixture()
def newcomers(ctx):
    orgimport.import_org({"people": NEW})
    return NEW


def test_a_new_person_activates_by_the_mailed_link_once(ctx, client, mail_on, newcomers, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    assert accounts.sign_in("moi1", "").user is None and user("moi1").password_hash == ""
    result = _cli(ctx, "accounts", "send-activation", "--unit", "SNV-TCCB")
    assert result.exit_code == 0 and "queued=1 no_email=1" in result.output, result.output
    assert "queued=0" in _cli(ctx, "accounts", "send-activation", "--unit", "SNV-TCCB").output  # link still open
    assert mail.send_due() == 1
    [sent] = mail_on.messages
    assert sent["rcpt_tos"] == ["moi1@snv.hanoi.gov.vn"]
    body = sent["msg"].get_content()
    assert "https://danhgia.example.vn/account/activate#" in body
    code = _code_in(body)
    stored = db.session.scalars(select(AccountToken).where(AccountToken.user_id == user("moi1").id)).one()
    assert stored.token_hash == activation.digest(code) and code not in stored.token_hash

    assert _set_password(client, "/account/activate", code).status_code == 302
    assert accounts.sign_in("moi1", CHOSEN).user is not None
    again = _set_password(client, "/account/activate", code, "KhacNua2030x")
    assert again.status_code == 422 and "đã dùng hoặc đã hết hạn" in again.get_data(as_text=True)
    assert user("moi1").check_password(CHOSEN)
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "account_activated"))
        == 1
    )
    out = capsys.readouterr()
    for where in (result.output, out.out, out.err, caplog.text):
        assert code not in where and CHOSEN not in where


def test_an_expired_link_is_refused(ctx, client, mail_on, newcomers):
    activation.send_activations("SNV-CCVC")
    code = _code_in(db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "activation")).one().body)
    db.session.execute(update(AccountToken).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    db.session.commit()
    resp = _set_password(client, "/account/activate", code)
    assert resp.status_code == 422 and user("moi3").password_hash == ""


def test_a_reset_link_does_not_activate_and_a_weak_password_keeps_the_link(ctx, client, mail_on, newcomers):
    activation.send_activations("SNV-CCVC")
    code = _code_in(db.session.scalars(select(OutgoingMail)).one().body)
    assert _set_password(client, "/account/reset", code).status_code == 422  # wrong purpose
    weak = _set_password(client, "/account/activate", code, "ngan", "ngan")
    assert weak.status_code == 422 and "10 ký tự" in weak.get_data(as_text=True)
    assert _set_password(client, "/account/activate", code).status_code == 302  # still usable


def test_hr_prints_codes_for_people_without_email(ctx, client, newcomers, caplog):
    caplog.set_level(logging.DEBUG)
    login(client, "nva")
    listing = client.get("/hr/activation").get_data(as_text=True)
    assert "Trần Thị Không Thư" in listing and "Lê Văn Ba" in listing and "Trần Thị Bình" not in listing
    sheet = client.post(
        "/hr/activation/codes", data={"csrf_token": csrf_token(listing), "user_id": [str(user("moi2").id)]}
    )
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    html = sheet.get_data(as_text=True)
    code = re.search(r'class="code">([A-Z0-9-]{19})<', html).group(1)
    assert "moi2" in html and "moi1" not in html
    assert code not in client.get("/hr/activation").get_data(as_text=True)  # shown once
    assert code not in caplog.text
    printed = db.session.scalars(select(AccountToken).where(AccountToken.user_id == user("moi2").id)).one()
    assert printed.channel == "code" and printed.created_by_id == user("nva").id
    assert printed.token_hash == activation.digest(code)

    typed = code.lower().replace("-", " ")  # typed by hand from the sheet
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    assert _set_password(client, "/account/activate", typed).status_code == 302
    assert accounts.sign_in("moi2", CHOSEN).user is not None
    assert _set_password(client, "/account/activate", typed, "KhacNua2030x").status_code == 422


def test_codes_only_for_people_in_the_officers_agency(ctx, client, newcomers):
    from app.models import Unit, User

    other = Unit(code="SXD", name="Sở Xây dựng", is_agency=True)
    db.session.add(other)
    db.session.flush()
    db.session.add(User(username="xd1", full_name="Người Sở Khác", unit_id=other.id, password_hash=""))
    db.session.commit()
    login(client, "nva")
    page = client.get("/hr/activation").get_data(as_text=True)
    assert "Người Sở Khác" not in page
    resp = client.post("/hr/activation/codes", data={"csrf_token": csrf_token(page), "user_id": [str(user("xd1").id)]})
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0
    resp = client.post("/hr/activation/codes", data={"csrf_token": csrf_token(page), "user_id": [str(user("ttb").id)]})
    assert resp.status_code == 403  # activated already


def test_forgotten_password_same_answer_for_everyone_and_rate_limited(ctx, client, mail_on, caplog):
    caplog.set_level(logging.DEBUG)

    def ask(who):
        page = client.get("/account/forgot")
        return client.post(
            "/account/forgot", data={"csrf_token": csrf_token(page.get_data(as_text=True)), "identifier": who}
        )

    known, unknown = ask("ttb"), ask("khong-co-ai")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    [row] = db.session.scalars(select(OutgoingMail)).all()
    assert row.to_address == "ttb@snv.hanoi.gov.vn" and row.kind == "reset"
    code = _code_in(row.body)
    assert "/account/reset#" in row.body
    assert _set_password(client, "/account/activate", code).status_code == 422  # a reset link resets only
    assert _set_password(client, "/account/reset", code).status_code == 302
    assert accounts.sign_in("ttb", CHOSEN).user is not None and accounts.sign_in("ttb", PASSWORD).user is None
    assert code not in caplog.text
    ask("TTB@snv.hanoi.gov.vn")  # by address, any case
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 2
    assert ask("ttb").status_code == ask("ttb").status_code == 200  # requests 4 and 5 from this address
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == activation.MAX_RESETS_PER_ACCOUNT
    refused = ask("ttb")  # the 6th within 15 minutes
    assert refused.status_code == 429 and "15" in refused.get_data(as_text=True)


def test_wrong_codes_are_rate_limited(ctx, client, newcomers):
    for _ in range(activation.MAX_FAILURES_PER_IP):
        assert _set_password(client, "/account/activate", "SAIMA-SAIMA").status_code == 422
    assert _set_password(client, "/account/activate", "SAIMA-SAIMA").status_code == 429


def test_the_pages_speak_one_language_at_a_time(ctx, client):
    vi = client.get("/account/activate").get_data(as_text=True)
    assert "Kích hoạt tài khoản" in vi and "Activate your account" not in vi and "Set password" not in vi
    client.get("/language/en")
    en = client.get("/account/activate").get_data(as_text=True)
    assert "Activate your account" in en and "Set password" in en
    assert "Kích hoạt tài khoản" not in en and "Đặt mật khẩu" not in en
    forgot = client.get("/account/forgot").get_data(as_text=True)
    assert "Forgot password" in forgot and "Quên mật khẩu" not in forgot
    resp = _set_password(client, "/account/activate", "SAI")
    text = resp.get_data(as_text=True)
    assert "The code is wrong" in text and "Mã không đúng" not in text


def test_the_activation_page_fits_a_phone(ctx, client):
    html = client.get("/account/activate").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width' in html and 'class="narrow account-page"' in html
    css = client.get("/static/app.css").get_data(as_text=True)
    assert ".account-page input, .account-page button { min-height: 44px" in css
    assert 'autocomplete="one-time-code"' in html and 'src="/static/activation.js"' in html


def test_send_activation_needs_mail_and_a_known_unit(ctx, newcomers, monkeypatch):
    monkeypatch.setitem(ctx.config, "SMTP_HOST", "")
    off = _cli(ctx, "accounts", "send-activation")
    assert off.exit_code != 0 and "SMTP_HOST" in off.output
    monkeypatch.setitem(ctx.config, "SMTP_HOST", "127.0.0.1")
    unknown = _cli(ctx, "accounts", "send-activation", "--unit", "KHONG-CO")
    assert unknown.exit_code != 0 and "KHONG-CO" in unknown.output
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0
