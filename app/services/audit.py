"""Append an audit event. Every state change goes through here; there is no update path."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert

from app.extensions import db
from app.models import AuditEvent


def record(
    action: str, *, instance=None, actor=None, on_behalf_of=None, step: str | None = None, details: dict | None = None
) -> AuditEvent:
    event = AuditEvent(
        instance_id=instance.id if instance is not None else None,
        actor_id=actor.id if actor is not None else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of is not None else None,
        action=action,
        step=step,
        details=details or {},
    )
    db.session.add(event)
    return event


def row(
    action: str, *, instance=None, actor=None, on_behalf_of=None, step: str | None = None, details: dict | None = None
) -> dict:
    """The audit_events row `record` would add, for `write`."""
    return {
        "instance_id": instance.id if instance is not None else None,
        "actor_id": actor.id if actor is not None else None,
        "on_behalf_of_id": on_behalf_of.id if on_behalf_of is not None else None,
        "at": datetime.now(timezone.utc),
        "action": action,
        "step": step,
        "details": details or {},
    }


_INSERT = insert(AuditEvent.__table__)  # built once: every completion writes its rows with it


def write(rows: list[dict]) -> None:
    """Append `rows` in one INSERT, in order, after what the session has flushed: a task completion
    writes its events this way, without the ORM's per-object bookkeeping in its flush."""
    if rows:
        db.session.connection().execute(_INSERT, rows)
