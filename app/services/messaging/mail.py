"""E-mail through an outbox. `queue` adds a row in the caller's transaction (so a rolled-back request
sends nothing); `send_due` delivers what is due. Several workers may run at once: each takes its mails
with FOR UPDATE SKIP LOCKED on PostgreSQL, so a mail goes out once, and commits per mail.

A delivery error never reaches the caller: the mail stays queued with the error and is retried with
exponential backoff (1, 2, 4 … minutes, at most 60), and is marked `failed` after MAX_ATTEMPTS tries.
Delivery is at least once: a worker killed between the SMTP hand-off and its commit sends that mail again.

A mail goes to exactly its one stored address: the SMTP envelope lists that address alone (never
what the To header would parse into), and an address that is not exactly one valid address is marked
`failed` without being sent. Subjects with Vietnamese text are encoded so that every compliant client
shows their spaces (see `_MailPolicy`). Every time here (when a mail is due, its back-off, the digest
hour) is read from `app.engine.clock`, so `timers run --now` moves all of them together."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select
from werkzeug.routing import BuildError

from app import localtime
from app.engine import clock
from app.extensions import db
from app.models import OutgoingMail, User

from app.services import transaction
from .mail_address import InvalidAddress, checked

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "[Đánh giá hằng tháng]"
SUBJECT_PREFIX_EN = "[Monthly evaluation]"
MAX_ATTEMPTS = 8
MAX_BACKOFF_MINUTES = 60
SMTP_TIMEOUT = 10
SUBJECT_MAX = 200
# Kinds whose mail links to the inbox (something to do); the others link to the notification list.
TASK_KINDS = {"assigned", "reminder", "returned"}


def enabled() -> bool:
    """Mail is on when an SMTP host is configured."""
    return bool(current_app.config.get("SMTP_HOST"))


def queue(user: User, kind: str, message: str, instance_id: int | None = None, lang: str = "vi") -> OutgoingMail | None:
    """Add a mail for `user` to the session (the caller commits). None when mail is off or the user has
    no address. Preferences are the caller's business (see notifications.send). `message` is already in
    the recipient's language `lang`, which also sets the greeting and footer."""
    row = row_for(user, kind, message, instance_id, lang=lang)
    if row is None:
        return None
    item = OutgoingMail(**row)
    db.session.add(item)
    return item


def row_for(user: User, kind: str, message: str, instance_id: int | None = None, lang: str = "vi") -> dict | None:
    """The outbox row `queue` adds, as a dict (bulk inserts use it directly); None when mail is off
    or the user has no address."""
    address = (user.email or "").strip()
    if not enabled() or not address:
        return None
    return dict(
        user_id=user.id,
        to_address=address,
        subject=subject_for(message, lang),
        body=body_for(user, kind, message, lang),
        kind=kind,
        instance_id=instance_id,
        status="queued",
        attempts=0,
        next_attempt_at=clock.now(),
    )


def text_in(lang: str, message: str, message_en: str | None) -> str:
    """The message in the recipient's language: the English twin for English readers when there is one."""
    return message_en if lang == "en" and message_en else message


def subject_for(message: str, lang: str = "vi") -> str:
    """ "[Đánh giá hằng tháng] " and the message's first line, up to its first sentence, shortened."""
    first = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    first = first.split(". ", 1)[0].strip()
    if len(first) > SUBJECT_MAX:
        first = first[: SUBJECT_MAX - 1].rstrip() + "…"
    prefix = SUBJECT_PREFIX_EN if lang == "en" else SUBJECT_PREFIX
    return f"{prefix} {first}".strip()


def _footer(lang: str) -> list[str]:
    if lang == "en":
        return [
            "-- ",
            "Monthly evaluation system",
            "This message was sent automatically; please do not reply.",
            "Change which e-mails you receive under Preferences.",
        ]
    return [
        "-- ",
        "Hệ thống đánh giá, xếp loại hằng tháng",
        "Thư này được gửi tự động, xin vui lòng không trả lời.",
        "Anh/chị có thể chọn loại thư muốn nhận tại mục Tùy chọn.",
    ]


def body_for(user: User, kind: str, message: str, lang: str = "vi") -> str:
    greeting = f"Dear {user.full_name}," if lang == "en" else f"Kính gửi {user.full_name},"
    lines = [greeting, "", message.strip(), ""]
    link = app_link(kind)
    if link:
        lines += [(f"Details and next steps: {link}" if lang == "en" else f"Xem chi tiết và xử lý tại: {link}"), ""]
    lines += _footer(lang)
    return "\n".join(lines) + "\n"


def send_digests(now: datetime | None = None) -> int:
    """The daily digest: one mail per person who chose it, listing the notices (of the kinds they want by
    mail) created since their last digest, at most once per local day and not before DIGEST_HOUR (local,
    default 7). Nothing new: no mail. Returns how many digests were queued (send_due delivers them)."""

    from app.models import Notification, UserPreference

    from app.services.organisation import preferences

    if not enabled():
        return 0
    now = now or clock.now()
    tz = localtime.zone()
    local_now = now.astimezone(tz)
    if local_now.hour < int(current_app.config["DIGEST_HOUR"]):
        return 0
    queued = 0
    query = select(UserPreference).where(UserPreference.daily_digest.is_(True)).order_by(UserPreference.user_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # several workers: each digest once
    prefs = db.session.scalars(query).all()
    for pref in prefs:
        if pref.digest_sent_at is not None and pref.digest_sent_at.astimezone(tz).date() >= local_now.date():
            continue  # today's digest went out already
        user = db.session.get(User, pref.user_id)
        if user is None or not user.active or not (user.email or "").strip():
            continue
        query = select(Notification).where(Notification.user_id == user.id, Notification.created_at <= now)
        if pref.digest_sent_at is not None:
            query = query.where(Notification.created_at > pref.digest_sent_at)
        items = [
            n
            for n in db.session.scalars(query.order_by(Notification.created_at, Notification.id))
            if preferences.mail_on(pref, n.kind)
        ]
        # The next digest covers what is created after this instant. A simulated clock ahead of the
        # real one (`timers run --now` in the future) must not move it past notices that the real
        # clock creates afterwards: they would fall before it and never be digested.
        pref.digest_sent_at = min(now, datetime.now(timezone.utc))
        if items:
            db.session.add(OutgoingMail(**digest_row(user, items, pref.language, local_now)))
            queued += 1
    return queued


def digest_row(user: User, items: list, lang: str, local_now: datetime) -> dict:
    day = local_now.strftime("%d/%m/%Y")
    n = len(items)
    if lang == "en":
        subject = f"{SUBJECT_PREFIX_EN} Daily digest {day}: {n} notice{'s' if n != 1 else ''}"
        intro = f"Your notices since the last digest ({n}):"
    else:
        subject = f"{SUBJECT_PREFIX} Tổng hợp thông báo ngày {day}: {n} thông báo"
        intro = f"Các thông báo của anh/chị kể từ bản tổng hợp trước ({n}):"
    lines = [f"Dear {user.full_name}," if lang == "en" else f"Kính gửi {user.full_name},", "", intro, ""]
    for n_ in items:
        when = n_.created_at.astimezone(local_now.tzinfo).strftime("%d/%m/%Y %H:%M")
        lines.append(f"- {when}  {text_in(lang, n_.message, n_.message_en)}")
    lines.append("")
    link = app_link("digest")
    if link:
        lines += [(f"Details: {link}" if lang == "en" else f"Xem chi tiết tại: {link}"), ""]
    lines += _footer(lang)
    return dict(
        user_id=user.id,
        to_address=user.email.strip(),
        subject=subject[:255],
        body="\n".join(lines) + "\n",
        kind="digest",
        instance_id=None,
        status="queued",
        attempts=0,
        next_attempt_at=local_now.astimezone(timezone.utc),
    )


def app_link(kind: str) -> str:
    """A link into the app when APP_BASE_URL is configured, else ''."""
    base = (current_app.config.get("APP_BASE_URL") or "").rstrip("/")
    if not base:
        return ""
    endpoint = "tasks.inbox" if kind in TASK_KINDS else "tasks.notifications"
    try:
        path = current_app.url_map.bind("localhost").build(endpoint)
    except BuildError:
        path = "/"
    return base + path


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed try: 1, 2, 4 … minutes, at most MAX_BACKOFF_MINUTES."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


class _Unreachable(Exception):
    """The SMTP server could not be reached: stop this run instead of waiting out every mail."""


def _claim_one(now: datetime, skip: set[int]) -> OutgoingMail | None:
    query = (
        select(OutgoingMail)
        .where(OutgoingMail.status == "queued", OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(1)
    )
    if skip:
        query = query.where(OutgoingMail.id.not_in(skip))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalars(query.execution_options(populate_existing=True)).first()


class _MailPolicy(EmailPolicy):
    """The standard policy, except that a subject with non-ASCII text is written as one run of RFC 2047
    encoded words that carry their own spaces. Python's own folding (3.11) encodes word by word and
    leaves the spaces between encoded words, where RFC 2047 says a reader drops them: "— Đặng Văn
    Hùng" arrived as "—ĐặngVănHùng"."""

    def _subject(self, name: str, value) -> str | None:
        text = str(value)
        if name.lower() != "subject" or text.isascii():
            return None
        encoded = Header(text, "utf-8", maxlinelen=self.max_line_length, header_name=name).encode(linesep=self.linesep)
        return f"{name}: {encoded}{self.linesep}"

    def fold(self, name, value):
        return self._subject(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = self._subject(name, value)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy()


def build_message(item: OutgoingMail, address: str | None = None) -> EmailMessage:
    sender = current_app.config.get("MAIL_FROM") or "danhgia@localhost"
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = item.subject
    msg["From"] = sender
    msg["To"] = address or checked(item.to_address)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(idstring=f"mail{item.id}", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(item.body, charset="utf-8", cte="quoted-printable")  # 7-bit safe for any relay
    return msg


def _deliver(item: OutgoingMail) -> None:
    address = checked(item.to_address)  # InvalidAddress: never sent, see send_due
    msg = build_message(item, address)
    host, port = current_app.config["SMTP_HOST"], int(current_app.config.get("SMTP_PORT") or 25)
    try:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    except OSError as exc:  # refused, timed out, no such host, or a bad greeting
        raise _Unreachable(exc) from exc
    with smtp:
        # The envelope names the one checked address; smtplib would otherwise take every address it
        # can parse out of To/Cc/Bcc.
        smtp.send_message(msg, from_addr=parseaddr(msg["From"])[1] or None, to_addrs=[address])


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Unreachable) and exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"[:2000]


def send_due(now: datetime | None = None, limit: int = 500) -> int:
    """Deliver up to `limit` queued mails due at `now` (default: the current time); return how many
    went out. Never raises for a delivery error."""
    if not enabled():
        return 0
    now = now or clock.now()
    sent, seen = 0, set()
    unreachable = False
    while len(seen) < limit and not unreachable:
        with transaction.committed():  # one mail, one transaction
            item = _claim_one(now, seen)
            if item is None:
                break
            seen.add(item.id)
            item.attempts = (item.attempts or 0) + 1
            try:
                _deliver(item)
            except InvalidAddress as exc:  # trying again cannot help: refused for good
                log.warning("mail %s (user %s): not sent, %s", item.id, item.user_id, exc)
                item.status, item.last_error = "failed", f"{exc}: {exc.address!r}"[:2000]
            except Exception as exc:
                if isinstance(exc, (OSError, _Unreachable)):  # smtplib.SMTPException is an OSError
                    log.warning(
                        "mail %s to %s: attempt %s failed: %s", item.id, item.to_address, item.attempts, _describe(exc)
                    )
                else:
                    log.exception("mail %s to %s: attempt %s failed", item.id, item.to_address, item.attempts)
                item.last_error = _describe(exc)
                if item.attempts >= MAX_ATTEMPTS:
                    item.status = "failed"
                else:
                    item.next_attempt_at = now + backoff(item.attempts)
                unreachable = isinstance(exc, _Unreachable)
            else:
                item.status, item.sent_at = "sent", clock.now()
                sent += 1
    return sent
