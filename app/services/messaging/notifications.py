"""Tell a person something: an in-app notification and, when mail is configured and the person has an
address, an e-mail queued in the same transaction. Every message to a user goes through `send`, so
channels and preferences live in one place.

A message is stored in Vietnamese with, when the sender wrote one, its English twin (`message_en`):
the notification list shows the reader's language, and a mail goes out in the recipient's language.
Preferences (app.services.organisation.preferences): e-mail per kind of notice can be switched off, and a person
who chose the daily digest gets no immediate mail — `mail.send_digests` sends one a day instead."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Notification, OutgoingMail, User
from app.models.types import utcnow

from app.services import bulk_insert
from . import mail
from app.services.organisation import preferences


def recent(user: User, limit: int = 100) -> list[Notification]:
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc()).limit(limit)
    ).all()


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_all_read(user: User) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def send(
    user_id: int | None, kind: str, message: str, instance_id: int | None = None, message_en: str | None = None
) -> None:
    if user_id is None:
        return
    db.session.add(
        Notification(user_id=user_id, instance_id=instance_id, kind=kind, message=message, message_en=message_en)
    )
    if not mail.enabled():
        return
    user = db.session.get(User, user_id)
    if user is not None and wants_mail(user, kind):
        pref = db.session.get(preferences.UserPreference, user.id)
        lang = pref.language if pref is not None else "vi"
        mail.queue(user, kind, mail.text_in(lang, message, message_en), instance_id, lang=lang)


def send_many(items: list[tuple]) -> None:
    """`send` for many messages at once — (user_id, kind, message, instance_id[, message_en]) each — with
    one multi-row INSERT per table instead of one per message (a month opening sends thousands)."""
    items = [tuple(item) + (None,) * (5 - len(item)) for item in items if item[0] is not None]
    if not items:
        return
    now = utcnow()
    bulk_insert.insert(
        Notification.__table__,
        [
            {"user_id": uid, "instance_id": iid, "kind": kind, "message": message, "message_en": en, "created_at": now}
            for uid, kind, message, iid, en in items
        ],
    )
    if not mail.enabled():
        return
    ids = {uid for uid, *_ in items}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    prefs = preferences.stored(ids)
    queued = []
    for uid, kind, message, iid, en in items:
        user = users.get(uid)
        if user is not None and wants_mail(user, kind, prefs.get(uid), checked=True):
            lang = prefs[uid].language if uid in prefs else "vi"
            row = mail.row_for(user, kind, mail.text_in(lang, message, en), iid, lang=lang)
            if row is not None:
                queued.append(dict(row, created_at=now))
    bulk_insert.insert(OutgoingMail.__table__, queued)


def wants_mail(user: User, kind: str, pref=None, *, checked: bool = False) -> bool:
    """Whether this message goes out by e-mail now: the person has an address and is active, has not
    switched e-mail off for this kind of notice, and has not chosen the daily digest (then it waits
    for the digest). The in-app notification is always kept."""
    if not (bool((user.email or "").strip()) and user.active):
        return False
    if pref is None and not checked:
        pref = db.session.get(preferences.UserPreference, user.id)
    if pref is not None and pref.daily_digest:
        return False
    return preferences.mail_on(pref, kind)
