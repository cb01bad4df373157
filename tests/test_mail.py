"""E-mail through the outbox, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, Notification, OutgoingMail, User
from app.services.evaluation import cycles
from app.services.messaging import mail, notifications

from .conftest import PERIOD, user

BASE_URL = "https://danhgia.example.vn"
MESSAGE = "Việc mới: Tự đánh giá, chấm điểm — Nguyễn Văn An (2030-03)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """Keeps every message it accepts; refuses recipients listed in `refuse`."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Không có hộp thư này / no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "msg": message_from_bytes(envelope.original_content, policy=policy.default),
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture()
def mail_on(ctx, smtp, monkeypatch):
    """Mail enabled and pointed at the local server; monkeypatch restores the config afterwards."""
    monkeypatch.setitem(ctx.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(ctx.config, "SMTP_PORT", smtp.port)
    monkeypatch.setitem(ctx.config, "MAIL_FROM", "danhgia@snv.hanoi.gov.vn")
    monkeypatch.setitem(ctx.config, "APP_BASE_URL", BASE_URL)
    return smtp


def _server_down(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config, "SMTP_PORT", _free_port())  # nothing listens there


def _mails() -> list[OutgoingMail]:
    db.session.expire_all()
    return db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()


def test_notification_queues_one_mail_and_send_due_delivers_it(ctx, mail_on):
    nva = user("nva")
    notifications.send(nva.id, "assigned", MESSAGE)
    db.session.commit()
    [queued] = _mails()
    assert (queued.status, queued.attempts, queued.to_address, queued.kind) == ("queued", 0, nva.email, "assigned")
    assert mail_on.messages == []  # nothing leaves before the worker runs

    assert mail.send_due() == 1
    [got] = mail_on.messages
    assert got["rcpt_tos"] == ["nva@snv.hanoi.gov.vn"]
    assert got["mail_from"] == "danhgia@snv.hanoi.gov.vn"
    msg = got["msg"]
    assert msg["To"] == "nva@snv.hanoi.gov.vn"
    assert msg["From"] == "danhgia@snv.hanoi.gov.vn"
    assert msg["Subject"] == "[Đánh giá hằng tháng] " + MESSAGE
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert "Kính gửi Nguyễn Văn An," in body
    assert MESSAGE in body
    assert f"{BASE_URL}/" in body
    assert msg["Message-ID"] and msg["Date"]

    [sent] = _mails()
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert sent.sent_at is not None
    assert mail.send_due() == 0 and len(mail_on.messages) == 1  # sent once


def test_no_mail_without_address_or_without_smtp(ctx, mail_on, monkeypatch):
    nva, ttb = user("nva"), user("ttb")
    nva.email = None
    db.session.commit()
    notifications.send(nva.id, "assigned", MESSAGE)
    monkeypatch.setitem(ctx.config, "SMTP_HOST", "")
    notifications.send(ttb.id, "assigned", MESSAGE)  # mail off: in-app only
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2
    assert _mails() == []
    assert mail.send_due() == 0 and mail_on.messages == []


def test_no_link_without_base_url(ctx, mail_on, monkeypatch):
    monkeypatch.setitem(ctx.config, "APP_BASE_URL", "")
    notifications.send(
        user("nva").id,
        "published",
        "Kết quả đánh giá tháng 2030-03 đã được công bố: 88 điểm, loại B. Anh/chị có thể kiến nghị đến hết 12/04/2030.",
    )
    db.session.commit()
    [queued] = _mails()
    assert queued.subject == "[Đánh giá hằng tháng] Kết quả đánh giá tháng 2030-03 đã được công bố: 88 điểm, loại B"
    assert "http" not in queued.body and "kiến nghị đến hết 12/04/2030" in queued.body


def test_rolled_back_request_queues_nothing(ctx, mail_on):
    notifications.send(user("nva").id, "assigned", MESSAGE)
    db.session.rollback()
    assert _mails() == []
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_server_down_keeps_mail_queued_then_delivers(ctx, mail_on, monkeypatch):
    notifications.send(user("nva").id, "assigned", MESSAGE)
    db.session.commit()
    _server_down(ctx, monkeypatch)
    now = datetime.now(timezone.utc)
    assert mail.send_due(now) == 0  # does not raise

    [queued] = _mails()
    assert (queued.status, queued.attempts) == ("queued", 1)
    assert queued.last_error
    assert queued.next_attempt_at > now and queued.next_attempt_at == now + timedelta(minutes=1)
    assert mail.send_due(now) == 0  # not due yet
    assert _mails()[0].attempts == 1

    monkeypatch.setitem(ctx.config, "SMTP_PORT", mail_on.port)
    assert mail.send_due(queued.next_attempt_at + timedelta(seconds=1)) == 1
    [sent] = _mails()
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert [m["rcpt_tos"] for m in mail_on.messages] == [["nva@snv.hanoi.gov.vn"]]


def test_unreachable_server_ends_the_run_early(ctx, mail_on, monkeypatch):
    for name in ("nva", "ttb", "lvc"):
        notifications.send(user(name).id, "assigned", MESSAGE)
    db.session.commit()
    _server_down(ctx, monkeypatch)
    assert mail.send_due() == 0
    assert [m.attempts for m in _mails()] == [1, 0, 0]  # no timeout per queued mail while it is down


def test_backoff_and_failed_after_eight_attempts(ctx, mail_on, monkeypatch):
    notifications.send(user("nva").id, "assigned", MESSAGE)
    db.session.commit()
    _server_down(ctx, monkeypatch)
    now = datetime.now(timezone.utc)
    waits = []
    for attempt in range(1, 9):
        assert mail.send_due(now) == 0
        [item] = _mails()
        assert item.attempts == attempt
        if attempt < 8:
            assert item.status == "queued"
            waits.append(round((item.next_attempt_at - now).total_seconds() / 60))
            now = item.next_attempt_at
    assert waits == [1, 2, 4, 8, 16, 32, 60]
    assert (item.status, item.attempts) == ("failed", 8) and item.last_error

    monkeypatch.setitem(ctx.config, "SMTP_PORT", mail_on.port)
    assert mail.send_due(now + timedelta(days=1)) == 0
    assert mail_on.messages == [] and _mails()[0].status == "failed"


def test_refused_recipient_is_retried_and_others_still_go(ctx, mail_on):
    mail_on.refuse.add("nva@snv.hanoi.gov.vn")
    for name in ("nva", "ttb"):
        notifications.send(user(name).id, "assigned", MESSAGE)
    db.session.commit()
    assert mail.send_due() == 1
    refused, delivered = _mails()
    assert (refused.status, refused.attempts) == ("queued", 1) and "550" in refused.last_error
    assert delivered.status == "sent"
    assert [m["rcpt_tos"] for m in mail_on.messages] == [["ttb@snv.hanoi.gov.vn"]]


def test_parallel_senders_deliver_each_mail_once(ctx, mail_on):
    people = db.session.scalars(select(User).where(User.email.is_not(None)).order_by(User.id)).all()
    for round_ in range(3):
        for person in people:
            notifications.send(person.id, "reminder", f"Nhắc việc: Tự đánh giá — lần {round_ + 1}")
    db.session.commit()
    total = len(_mails())
    assert total == 3 * len(people)
    mail_on.delay = 0.02
    results = []

    def worker():
        with ctx.app_context():
            results.append(mail.send_due())

    if db.engine.dialect.name == "postgresql":
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    else:  # SQLite: one writer; run the two senders one after the other
        worker()
        worker()
    assert len(results) == 2 and sum(results) == total
    ids = [m["msg"]["Message-ID"] for m in mail_on.messages]
    assert len(ids) == total and len(set(ids)) == total
    assert {m.status for m in _mails()} == {"sent"}


def test_open_month_mails_everyone_their_new_task(ctx, mail_on):
    cycles.open_month("SNV-TCCB", PERIOD)
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.status == "ready")).all()
    expected = sorted(t.assignee.email for t in tasks)
    assert len(expected) == 5 and all(expected)

    assert mail.send_due() == 5
    assert sorted(r for m in mail_on.messages for r in m["rcpt_tos"]) == expected
    for got in mail_on.messages:
        assert got["msg"]["Subject"].startswith("[Đánh giá hằng tháng] Việc mới: ")
        assert f"({PERIOD})" in got["msg"].get_content()
    assert {(m.kind, m.status) for m in _mails()} == {("assigned", "sent")}


def test_timers_run_and_worker_send_mail(ctx, mail_on):
    cycles.open_month("SNV-TCCB", PERIOD)
    runner = ctx.test_cli_runner()
    result = runner.invoke(args=["timers", "run"])
    assert result.exit_code == 0 and "fired=0" in result.output and "mail_sent=5" in result.output
    notifications.send(user("nva").id, "reminder", "Nhắc việc: Tự đánh giá — hạn 03/04/2030")
    db.session.commit()
    result = runner.invoke(args=["worker", "--once", "--interval", "0"])
    assert result.exit_code == 0 and "mail_sent=1" in result.output
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "mail_sent=0" in result.output
    assert len(mail_on.messages) == 6


def test_backoff_and_subject_helpers():
    assert [mail.backoff(n).total_seconds() / 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    long = "Việc mới: " + "x" * 400
    assert len(mail.subject_for(long)) <= 255 and mail.subject_for(long).endswith("…")
