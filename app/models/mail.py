"""Outgoing e-mail (outbox): queued in the same transaction as the notification it belongs to,
delivered later by the worker (`app.services.messaging.mail.send_due`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .types import UTCDateTime, utcnow

MAIL_STATUSES = ("queued", "sent", "failed")


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_outgoing_mail_due", OutgoingMail.status, OutgoingMail.next_attempt_at)
