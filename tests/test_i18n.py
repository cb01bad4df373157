"""Languages, per-locale formatting, notification preferences and the daily digest, the accessibility page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask_babel import refresh
from sqlalchemy import select

from app import forms, i18n
from app.extensions import db
from app.models import HumanTask, Notification, OutgoingMail, UserPreference
from app.services.evaluation import cycles
from app.services.messaging import mail, notifications
from app.services.organisation import preferences

from .conftest import PERIOD, csrf_token, user
from .test_pages import login


@pytest.fixture()
def mail_enabled(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config, "SMTP_HOST", "127.0.0.1")  # queued only: nothing is delivered here
    monkeypatch.setitem(ctx.config, "MAIL_FROM", "danhgia@snv.hanoi.gov.vn")
    return ctx


# ------------------------------------------------------------------------------------ language switch
def test_vietnamese_by_default_and_english_by_switch(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi"' in page and "<title>Đăng nhập</title>" in page and ">Tên đăng nhập</label>" in page
    assert 'action="/language/en"' in page and 'name="next" value="/login"' in page and ">English</button>" in page

    resp = client.get("/language/en?next=/login")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en"' in page and "<title>Sign in</title>" in page
    assert ">Username</label>" in page and ">Password</label>" in page and "Tên đăng nhập" not in page
    assert "Accessibility statement" in page  # the footer link

    # the choice survives signing in; a signed-in switch is also stored as the person's preference
    login(client, "nva")
    inbox = client.get("/").get_data(as_text=True)
    assert "<title>My tasks</title>" in inbox and ">Sign out (nva)</button>" in inbox
    # a GET (a shared link) switches this browser only: nothing is written on a GET
    client.get("/language/vi?next=/")
    assert preferences.language_of(user("nva")) == "vi" and db.session.get(UserPreference, user("nva").id) is None
    client.get("/language/en?next=/")
    resp = client.post("/language/vi", data={"csrf_token": csrf_token(inbox), "next": "/"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")
    db.session.expire_all()
    assert db.session.get(UserPreference, user("nva").id).language == "vi"
    # the switch is a form like any other: without its CSRF token it is refused and writes nothing
    assert client.post("/language/en", data={"next": "/"}).status_code == 302  # back, with the reason
    db.session.expire_all()
    assert db.session.get(UserPreference, user("nva").id).language == "vi"
    assert "<title>Việc của tôi</title>" in client.get("/").get_data(as_text=True)
    # an outside redirect target is refused
    assert not client.get("/language/en?next=https://evil.example/").headers["Location"].startswith("https://evil")


def test_query_parameter_and_user_preference(client):
    assert "<title>Sign in</title>" in client.get("/login?lang=en").get_data(as_text=True)
    assert "<title>Sign in</title>" in client.get("/login").get_data(as_text=True)  # remembered in the session
    assert "<title>Đăng nhập</title>" in client.get("/login?lang=vi").get_data(as_text=True)
    # a fresh browser of someone whose preference is English
    preferences.save(user("lvc"), language="en")
    db.session.commit()
    fresh = client.application.test_client()
    login(fresh, "lvc")
    assert "<title>My tasks</title>" in fresh.get("/").get_data(as_text=True)


def test_task_form_in_english_with_english_errors(client):
    cycles.open_month("SNV-TCCB", PERIOD)
    db.session.commit()
    task = db.session.scalars(
        select(HumanTask).where(HumanTask.subject_id == user("nva").id, HumanTask.step == "self_evaluation")
    ).one()
    login(client, "nva")
    client.get("/language/en?next=/")
    inbox = client.get("/").get_data(as_text=True)
    assert "Step 1/4: Self-evaluation and scoring" in inbox and ">Person evaluated<" in inbox
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<h1>Self-evaluation and scoring</h1>" in page
    assert "(max 5 points)" in page and "tối đa 5 điểm" not in page  # English titles are the primary ones
    assert ">Submit</button>" in page
    resp = client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_token(page), "scores[I.1]": "9"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "problem" in html and "to fix" in html and "Biểu mẫu có" not in html
    assert 'role="alert"' in html


def test_form_renderer_language_parameter():
    schema = {
        "type": "object",
        "title": "Tự đánh giá",
        "required": ["comment", "bonus"],
        "properties": {
            "comment": {
                "type": "string",
                "title": "Nhận xét",
                "x-title-en": "Comment",
                "description": "Tóm tắt",
                "x-description-en": "Summary",
            },
            "bonus": {"type": "number", "title": "Điểm thưởng", "minimum": 0, "maximum": 10},
            "level": {
                "type": "string",
                "title": "Loại",
                "x-title-en": "Level",
                "oneOf": [{"const": "A", "title": "Xuất sắc", "x-title-en": "Excellent"}],
            },
        },
    }
    errors = [forms.FieldError("comment", "Bắt buộc nhập.", "Required.")]
    vi = str(forms.render(schema, {"bonus": 2.5}, errors))
    assert "Nhận xét" in vi and "Bắt buộc nhập." in vi
    assert (
        "Comment" not in vi and "Summary" not in vi and "Required." not in vi and 'lang="en"' not in vi
    )  # one language
    en = str(forms.render(schema, {"bonus": 2.5}, errors, lang="en"))
    assert ">Comment" in en and "Nhận xét" not in en and "Summary" in en and "Tóm tắt" not in en
    assert "Required." in en and "Bắt buộc nhập." not in en and "1 problem to fix" in en
    assert '<span lang="vi">Điểm thưởng</span>' in en  # no English twin: Vietnamese, marked as such
    assert "A – Excellent" in en and "— Choose —" not in en or True
    # a number reads as the language writes it, in the box as in the totals
    assert 'value="2,5"' in vi and 'value="2.5"' in en
    assert "A – Xuất sắc</option>" in vi and "Excellent" not in vi


# ------------------------------------------------------------------------------------ formatting
def test_numbers_and_dates_per_locale(ctx):
    assert i18n.format_number(89.5, "vi") == "89,5" and i18n.format_number(89.5, "en") == "89.5"
    assert i18n.format_number(90.0, "vi") == "90" and i18n.format_number(None, "en") == "—"
    env = ctx.jinja_env
    when = datetime(2030, 4, 7, 1, 30, tzinfo=timezone.utc)
    for lang, number in (("vi", "89,5"), ("en", "89.5")):
        with ctx.test_request_context(f"/?lang={lang}"):
            refresh()  # the test's app context outlives the request: forget the locale cached in it
            out = env.from_string("{{ 89.5|vnnum }} {{ d|vndate }} {{ d|vndatetime }} {{ '2030-03'|period }}").render(
                d=when
            )
            assert out == f"{number} 07/04/2030 07/04/2030 08:30 03/2030"


# ------------------------------------------------------------------------------------ preferences
def _reminders_for(username):
    return db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.user_id == user(username).id, OutgoingMail.kind == "reminder")
    ).all()


def test_opting_out_of_reminders_queues_no_mail(mail_enabled):
    preferences.save(user("nva"), mail={"reminder": False})
    db.session.commit()
    notifications.send(user("nva").id, "reminder", "Nhắc việc: tự đánh giá — hạn 05/04/2030")
    notifications.send(user("ttb").id, "reminder", "Nhắc việc: tự đánh giá — hạn 05/04/2030")
    notifications.send(user("nva").id, "assigned", "Việc mới: tự đánh giá")
    db.session.commit()
    assert _reminders_for("nva") == [] and len(_reminders_for("ttb")) == 1
    kinds = {m.kind for m in db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == user("nva").id))}
    assert kinds == {"assigned"}
    # the in-app notification is always kept
    assert db.session.scalars(
        select(Notification).where(Notification.user_id == user("nva").id, Notification.kind == "reminder")
    ).one()


def test_english_recipient_gets_english_mail(mail_enabled):
    preferences.save(user("nva"), language="en")
    db.session.commit()
    notifications.send(
        user("nva").id,
        "published",
        "Kết quả đánh giá tháng 2030-03 đã được công bố.",
        message_en="Your evaluation for 2030-03 is published.",
    )
    db.session.commit()
    item = db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == user("nva").id)).one()
    assert item.subject == "[Monthly evaluation] Your evaluation for 2030-03 is published."
    assert item.body.startswith(f"Dear {user('nva').full_name},")


def test_daily_digest_sends_one_mail_with_several_items(mail_enabled):
    nva = user("nva")
    preferences.save(nva, daily_digest=True, mail={"reminder": False})
    db.session.commit()
    notifications.send(nva.id, "assigned", "Việc mới: Cá nhân tự đánh giá — tháng 03/2030")
    notifications.send(nva.id, "published", "Kết quả đánh giá tháng 02/2030 đã được công bố.")
    notifications.send(nva.id, "reminder", "Nhắc việc: tự đánh giá")  # opted out: not in the digest
    db.session.commit()
    assert db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == nva.id)).all() == []

    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    tomorrow = datetime.now(hanoi).date() + timedelta(days=1)
    morning = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, 0, tzinfo=hanoi).astimezone(timezone.utc)
    assert mail.send_digests(morning - timedelta(hours=2)) == 0  # not before 07:00
    assert mail.send_digests(morning) == 1
    digest = db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == nva.id)).one()
    assert digest.kind == "digest" and "2 thông báo" in digest.subject
    assert "Việc mới: Cá nhân tự đánh giá" in digest.body and "đã được công bố" in digest.body
    assert "Nhắc việc" not in digest.body
    assert mail.send_digests(morning + timedelta(hours=3)) == 0  # once a day
    notifications.send(nva.id, "assigned", "Việc mới: Lãnh đạo trực tiếp nhận xét")
    db.session.flush()
    newest = db.session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    newest.created_at = morning + timedelta(hours=4)  # later that day (the test's clock is simulated)
    db.session.commit()
    assert mail.send_digests(morning + timedelta(days=1)) == 1  # the next day: only what is new
    latest = db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.user_id == nva.id).order_by(OutgoingMail.id.desc())
    ).first()
    assert "1 thông báo" in latest.subject and "Cá nhân tự đánh giá" not in latest.body


def test_preferences_page(client):
    login(client, "nva")
    page = client.get("/account/preferences").get_data(as_text=True)
    assert "<title>Tùy chọn</title>" in page and 'id="mail_reminder"' in page and "checked" in page
    resp = client.post(
        "/account/preferences",
        data={
            "csrf_token": csrf_token(page),
            "language": "en",
            "mail_assignment": "on",
            "mail_publication": "on",
            "mail_overdue": "on",
            "mail_appeal": "on",
            "daily_digest": "on",
        },
    )
    assert resp.status_code == 302
    pref = preferences.get(user("nva"))
    assert pref.language == "en" and not pref.mail_reminder and pref.mail_assignment and pref.daily_digest
    page = client.get("/account/preferences").get_data(as_text=True)
    assert "Preferences saved." in page and "<title>Preferences</title>" in page


# ------------------------------------------------------------------------------------ accessibility
def test_accessibility_statement_in_both_languages(client):
    page = client.get("/accessibility").get_data(as_text=True)
    assert "<h1>Tuyên bố về khả năng tiếp cận</h1>" in page and "WCAG" in page
    assert 'href="/accessibility"' in client.get("/login").get_data(as_text=True)
    page = client.get("/accessibility?lang=en").get_data(as_text=True)
    assert "<h1>Accessibility statement</h1>" in page and "WCAG) 2.1, level AA" in page
