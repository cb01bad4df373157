"""Tell a person something: an in-app notification and, when mail is configured and the person has an
address, an e-mail queued in the same transaction. Every message to a user goes through `send`, so
channels and preferences live in one place."""
from __future__ import annotations

from sqlalchemy import insert, select

from app.extensions import db
from app.models import Notification, OutgoingMail, User
from app.models.types import utcnow

from . import mail


def send(user_id: int | None, kind: str, message: str, instance_id: int | None = None) -> None:
    if user_id is None:
        return
    db.session.add(Notification(user_id=user_id, instance_id=instance_id, kind=kind, message=message))
    if not mail.enabled():
        return
    user = db.session.get(User, user_id)
    if user is not None and wants_mail(user, kind):
        mail.queue(user, kind, message, instance_id)


def send_many(items: list[tuple[int | None, str, str, int | None]]) -> None:
    """`send` for many messages at once — (user_id, kind, message, instance_id) each — with one
    multi-row INSERT per table instead of one per message (a month opening sends thousands)."""
    items = [item for item in items if item[0] is not None]
    if not items:
        return
    now = utcnow()
    db.session.execute(insert(Notification.__table__), [
        {"user_id": uid, "instance_id": iid, "kind": kind, "message": message, "created_at": now}
        for uid, kind, message, iid in items])
    if not mail.enabled():
        return
    ids = {uid for uid, *_ in items}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    rows = []
    for uid, kind, message, iid in items:
        user = users.get(uid)
        if user is not None and wants_mail(user, kind):
            row = mail.row_for(user, kind, message, iid)
            if row is not None:
                rows.append(dict(row, created_at=now))
    if rows:
        db.session.execute(insert(OutgoingMail.__table__), rows)


def wants_mail(user: User, kind: str) -> bool:
    """Whether this message also goes out by e-mail. A per-user preference (opt-out, per kind) is
    checked here when it exists; the in-app notification is always kept."""
    return bool((user.email or "").strip()) and user.active

