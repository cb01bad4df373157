"""Single-use secrets that let a person set their password: an activation link or printed code, or a
password-reset link. Only the SHA-256 of a secret is stored; the secret itself exists in the mail (or
on the printed sheet) and nowhere else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import User
from .types import UTCDateTime, utcnow

PURPOSES = ("activation", "reset")
CHANNELS = ("mail", "code")


class AccountToken(db.Model):
    __tablename__ = "account_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # activation | reset
    channel: Mapped[str] = mapped_column(String(8))  # mail | code (printed by an HR officer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # redeemed, or superseded by a newer one
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


Index("ix_account_tokens_user", AccountToken.user_id, AccountToken.purpose, AccountToken.used_at)
