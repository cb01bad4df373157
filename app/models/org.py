"""Units, people and API tokens."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db

from .types import UTCDateTime, utcnow

POSITION_GROUPS = ("staff", "leader", "contract")
GLOBAL_ROLES = ("hr_officer", "designer", "admin")


class Unit(db.Model):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    is_agency: Mapped[bool] = mapped_column(default=False)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    head: Mapped[User | None] = relationship(foreign_keys=[head_id], post_update=True)

    def ancestors(self) -> list[Unit]:
        """Self first, then up to the root."""
        out, unit, seen = [], self, set()
        while unit is not None and unit.id not in seen:
            seen.add(unit.id)
            out.append(unit)
            unit = unit.parent
        return out

    def agency(self) -> Unit | None:
        return next((u for u in self.ancestors() if u.is_agency), None)

    def subtree_ids(self) -> list[int]:
        ids, frontier = [self.id], [self]
        while frontier:
            nxt = [c for u in frontier for c in u.children if c.id not in ids]
            ids += [c.id for c in nxt]
            frontier = nxt
        return ids


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    position_group: Mapped[str] = mapped_column(String(16), default="staff")
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    roles: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    manager: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[manager_id])

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    def set_password(self, password: str) -> None:
        from flask import current_app
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if current_app else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def role_set(self) -> set[str]:
        return {r for r in (self.roles or "").split() if r}

    def has_role(self, role: str) -> bool:
        return role in self.role_set


class ApiToken(db.Model):
    """Bearer tokens for the JSON API; only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


Index("ix_users_unit_manager", User.unit_id, User.manager_id)
