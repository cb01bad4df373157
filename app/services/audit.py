"""Append an audit event. Every state change goes through here; there is no update path."""
from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent


def record(action: str, *, instance=None, actor=None, on_behalf_of=None, step: str | None = None,
           details: dict | None = None) -> AuditEvent:
    event = AuditEvent(instance_id=instance.id if instance is not None else None,
                       actor_id=actor.id if actor is not None else None,
                       on_behalf_of_id=on_behalf_of.id if on_behalf_of is not None else None,
                       action=action, step=step, details=details or {})
    db.session.add(event)
    return event
