"""Issue 12 §5, against a real SMTP server (aiosmtpd): a mail reaches exactly its one stored address,
its subject decodes to exactly what was written, the digest goes out from DIGEST_HOUR, and
`timers run --now` moves every clock-driven path (digest, when mail is due, back-off) together."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app import config
from app.extensions import db
from app.models import Notification, OutgoingMail
from app.services.messaging import mail, mail_address, notifications
from app.services.organisation import preferences

from .conftest import user
from .test_mail import BASE_URL, _free_port, _mails

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
COMMA = "cv@acc.example.vn, evil@example.com"


class RawCollector:
    """Keeps each message as the server received it (bytes) with its SMTP envelope."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "rcpt_tos": list(envelope.rcpt_tos),
                "raw": envelope.original_content,
                "msg": message_from_bytes(envelope.original_content, policy=policy.default),
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture()
def server(ctx, monkeypatch):
    handler = RawCollector()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setitem(ctx.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(ctx.config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(ctx.config, "MAIL_FROM", "danhgia@snv.hanoi.gov.vn")
    monkeypatch.setitem(ctx.config, "APP_BASE_URL", BASE_URL)
    yield handler
    controller.stop()


def _raw_subject(raw: bytes) -> str:
    """The Subject field exactly as sent, unfolded as RFC 5322 says (only the CRLF goes)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(r"^Subject:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M)
    return match.group(1).replace("\r\n", "").strip()


def _local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(HANOI).date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HANOI)


# ------------------------------------------------------------------------------ one address, exactly
def test_an_address_with_a_comma_sends_to_nobody_and_others_to_their_one_address(server):
    ttb, nva = user("ttb"), user("nva")
    ttb.email = COMMA  # what an old import let through
    db.session.commit()
    notifications.send(ttb.id, "assigned", "Việc mới: Tự đánh giá — Trần Thị Bình (2030-03)")
    notifications.send(nva.id, "assigned", "Việc mới: Tự đánh giá — Nguyễn Văn An (2030-03)")
    db.session.commit()
    assert mail.send_due() == 1
    [got] = server.messages
    assert got["rcpt_tos"] == ["nva@snv.hanoi.gov.vn"]  # the envelope: one recipient
    assert got["msg"]["To"] == "nva@snv.hanoi.gov.vn"
    refused, sent = _mails()
    assert (refused.status, refused.attempts, refused.sent_at) == ("failed", 1, None)  # never retried
    assert "not exactly one valid e-mail address" in refused.last_error
    assert sent.status == "sent"
    assert mail.send_due(datetime.now(timezone.utc) + timedelta(days=1)) == 0 and len(server.messages) == 1
    assert all("evil@example.com" not in r for m in server.messages for r in m["rcpt_tos"])


@pytest.mark.parametrize(
    "address",
    [
        COMMA,
        "cv@acc.example.vn;evil@example.com",
        "Evil <evil@example.com>",
        "cv@acc.example.vn\r\nBcc: evil@example.com",
        "cv@acc.example.vn (x)",
        " cv@acc.example.vn",
        "cv@",
        "@acc.example.vn",
        "cv@acc",
        "",
    ],
)
def test_anything_but_one_plain_address_is_refused(address):
    assert not mail_address.is_valid(address)
    with pytest.raises(mail_address.InvalidAddress):
        mail_address.checked(address)


def test_a_plain_address_passes_unchanged():
    for address in ("nva@snv.hanoi.gov.vn", "Nguyen.Van-An+danhgia@so-noivu.hanoi.gov.vn"):
        assert mail_address.checked(address) == address


def test_a_header_injection_in_the_stored_address_sends_nothing(server):
    nva = user("nva")
    nva.email = "nva@snv.hanoi.gov.vn\r\nBcc: evil@example.com"
    db.session.commit()
    notifications.send(nva.id, "assigned", "Việc mới")
    db.session.commit()
    assert mail.send_due() == 0 and server.messages == []
    assert _mails()[0].status == "failed"


# ---------------------------------------------------------------------------------- subject round trip
SUBJECTS = [
    ("en", "New task: Self-evaluation and scoring — Đặng Văn Hùng (2030-03)"),
    ("en", "Overdue: Decision by the head of the agency — Nguyễn Thị Ánh Tuyết (2030-03), held by: Trần Quốc Toản"),
    ("vi", "Việc mới: Tự đánh giá, chấm điểm — Nguyễn Văn An (2030-03)"),
    ("en", "Result published: 88 points, level B"),
    ("en", "New task: Review — " + "Đặng Văn Hùng " * 12),  # folded over many lines
]


@pytest.mark.parametrize("lang,text", SUBJECTS)
def test_the_subject_decodes_to_exactly_what_was_written(server, lang, text):
    nva = user("nva")
    preferences.save(nva, language=lang)
    db.session.commit()
    notifications.send(nva.id, "assigned", "Việc mới" if lang == "en" else text, None, text)
    db.session.commit()
    assert mail.send_due() == 1
    expected = mail.subject_for(text, lang)
    assert expected.startswith("[Monthly evaluation] " if lang == "en" else "[Đánh giá hằng tháng] ")
    [got] = server.messages
    raw = _raw_subject(got["raw"])
    assert str(make_header(decode_header(raw))) == expected  # RFC 2047 as a strict client reads it
    assert got["msg"]["Subject"] == expected  # and as Python's own parser does
    assert all(len(line) <= 78 for line in got["raw"].split(b"\r\n\r\n", 1)[0].split(b"\r\n"))


# ------------------------------------------------------------------------------------------ DIGEST_HOUR
def test_digest_hour_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGEST_HOUR", "9")
    assert config.build(str(tmp_path))["DIGEST_HOUR"] == 9
    monkeypatch.delenv("DIGEST_HOUR")
    assert config.build(str(tmp_path))["DIGEST_HOUR"] == 7
    for bad in ("24", "-1", "7h", "sáng"):
        monkeypatch.setenv("DIGEST_HOUR", bad)
        with pytest.raises(ValueError, match="DIGEST_HOUR"):
            config.build(str(tmp_path))


def test_the_digest_waits_for_digest_hour(ctx, server, monkeypatch):
    monkeypatch.setitem(ctx.config, "DIGEST_HOUR", 9)
    nva = user("nva")
    preferences.save(nva, daily_digest=True)
    db.session.commit()
    notifications.send(nva.id, "assigned", "Việc mới: Cá nhân tự đánh giá — tháng 03/2030")
    db.session.commit()
    assert mail.send_digests(_local(1, 8, 59).astimezone(timezone.utc)) == 0  # 7 would have sent it
    assert mail.send_digests(_local(1, 9, 0).astimezone(timezone.utc)) == 1
    assert mail.send_due(_local(1, 9, 0)) == 1
    [got] = server.messages
    assert got["rcpt_tos"] == ["nva@snv.hanoi.gov.vn"] and "Cá nhân tự đánh giá" in got["msg"].get_content()


# ----------------------------------------------------------------------------- timers run --now: one clock
def _cli(ctx, *args):
    result = ctx.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_timers_run_now_delivers_the_digest_and_later_notices_are_digested_too(ctx, server):
    nva = user("nva")
    preferences.save(nva, daily_digest=True)
    db.session.commit()
    notifications.send(nva.id, "assigned", "Việc mới: Cá nhân tự đánh giá — tháng 03/2030")
    notifications.send(nva.id, "published", "Kết quả đánh giá tháng 02/2030 đã được công bố.")
    db.session.commit()

    simulated = _local(3, 8)  # three days ahead, 08:00 Hà Nội
    out = _cli(ctx, "timers", "run", "--now", simulated.isoformat())
    assert "digests=1" in out and "mail_sent=1" in out, out
    [got] = server.messages
    body = got["msg"].get_content()
    assert got["rcpt_tos"] == ["nva@snv.hanoi.gov.vn"] and got["msg"]["Subject"].endswith("2 thông báo")
    assert "Cá nhân tự đánh giá" in body and "đã được công bố" in body
    digest = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "digest")).one()
    assert digest.status == "sent" and digest.sent_at == simulated.astimezone(timezone.utc)
    pref = preferences.get(user("nva"))
    assert pref.digest_sent_at <= datetime.now(timezone.utc)  # not moved to the simulated date

    # the real clock goes on: a notice created now (before the simulated date) is in the next digest
    notifications.send(nva.id, "assigned", "Việc mới: Lãnh đạo trực tiếp nhận xét")
    db.session.commit()
    out = _cli(ctx, "timers", "run", "--now", _local(4, 8).isoformat())
    assert "digests=1" in out and "mail_sent=1" in out, out
    latest = server.messages[-1]["msg"]
    assert "1 thông báo" in latest["Subject"] and "Lãnh đạo trực tiếp nhận xét" in latest.get_content()
    assert "Cá nhân tự đánh giá" not in latest.get_content()  # nothing twice


def test_timers_run_now_queues_sends_and_backs_off_by_the_simulated_clock(ctx, server, monkeypatch):
    simulated = datetime.fromisoformat("2030-04-03T08:00:00+07:00")
    notifications.send(user("ttb").id, "reminder", "Nhắc việc: Tự đánh giá — hạn 03/04/2030")
    db.session.commit()
    real_port = ctx.config["SMTP_PORT"]
    monkeypatch.setitem(ctx.config, "SMTP_PORT", _free_port())  # the relay is down during the run
    out = _cli(ctx, "timers", "run", "--now", simulated.isoformat())
    assert "mail_sent=0" in out
    [item] = _mails()
    assert item.attempts == 1 and item.next_attempt_at == simulated.astimezone(timezone.utc) + timedelta(minutes=1)

    monkeypatch.setitem(ctx.config, "SMTP_PORT", real_port)
    out = _cli(ctx, "timers", "run", "--now", (simulated + timedelta(seconds=30)).isoformat())
    assert "mail_sent=0" in out  # its back-off is not over on that clock
    out = _cli(ctx, "timers", "run", "--now", (simulated + timedelta(minutes=2)).isoformat())
    assert "mail_sent=1" in out and [m["rcpt_tos"] for m in server.messages] == [["ttb@snv.hanoi.gov.vn"]]

    # a mail queued during a simulated run is due at the simulated instant, even one in the past
    past = datetime.fromisoformat("2026-01-05T08:00:00+07:00")
    from app.engine import clock

    with clock.frozen_at(past):
        notifications.send(user("nva").id, "reminder", "Nhắc việc")
    db.session.commit()
    queued = db.session.scalars(select(OutgoingMail).where(OutgoingMail.status == "queued")).one()
    assert queued.next_attempt_at == past.astimezone(timezone.utc)
    assert db.session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
