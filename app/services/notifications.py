"""Tell a person something: an in-app notification and, when mail is configured and the person has an
address, an e-mail queued in the same transaction. Every message to a user goes through `send`, so
channels and preferences live in one place."""
from __future__ import annotations

from app.extensions import db
from app.models import Notification, User

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


def wants_mail(user: User, kind: str) -> bool:
    """Whether this message also goes out by e-mail. A per-user preference (opt-out, per kind) is
    checked here when it exists; the in-app notification is always kept."""
    return bool((user.email or "").strip()) and user.active

