"""Tell a person something: an in-app notification (and, later, mail). Every message to a user
goes through `send`, so channels and preferences live in one place."""
from __future__ import annotations

from app.extensions import db
from app.models import Notification


def send(user_id: int | None, kind: str, message: str, instance_id: int | None = None) -> None:
    if user_id is None:
        return
    db.session.add(Notification(user_id=user_id, instance_id=instance_id, kind=kind, message=message))
