"""A person's own settings: the interface language and which notices also go out by e-mail
(per kind, or one daily digest instead of immediate mails). No row = the defaults."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .types import UTCDateTime, utcnow


class UserPreference(db.Model):
    __tablename__ = "user_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), default="vi", server_default="vi")
    mail_assignment: Mapped[bool] = mapped_column(default=True, server_default="1")
    mail_reminder: Mapped[bool] = mapped_column(default=True, server_default="1")
    mail_overdue: Mapped[bool] = mapped_column(default=True, server_default="1")
    mail_publication: Mapped[bool] = mapped_column(default=True, server_default="1")
    mail_appeal: Mapped[bool] = mapped_column(default=True, server_default="1")
    daily_digest: Mapped[bool] = mapped_column(default=False, server_default="0")
    # the digest covers notifications created after this instant; set when a digest is queued
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
