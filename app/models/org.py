"""Units, people and API tokens."""

from __future__ import annotations

import re
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db

from .types import UTCDateTime, utcnow

POSITION_GROUPS = ("staff", "leader", "contract")
GLOBAL_ROLES = ("hr_officer", "designer", "admin")
# Besides the global roles a person may hold named groups that lanes of the process refer to, e.g. a lane
# "Chi bộ [party_cell]" goes to a user of the subject's agency holding `party_cell`. The roles computed
# from the org chart, relative to the subject, cannot be held.
RELATIVE_ROLES = ("subject", "direct_manager", "decider", "superior_decider")
NAMED_GROUP = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def is_assignable_role(role: str) -> bool:
    """A global role, or a named group (lower case, digits, underscores) that is not a relative role."""
    return role in GLOBAL_ROLES or (bool(NAMED_GROUP.match(role)) and role not in RELATIVE_ROLES)


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
        """This unit first, then everything below it: one recursive query, not one per unit
        (UNION, not UNION ALL, so that even a cycle in the tree ends)."""
        tree = select(Unit.id.label("id")).where(Unit.id == self.id).cte("subtree", recursive=True)
        below = aliased(Unit)
        tree = tree.union(select(below.id).join(tree, below.parent_id == tree.c.id))
        return [self.id] + sorted(uid for uid in db.session.scalars(select(tree.c.id)) if uid != self.id)


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
    # Part of the login id: bumping it signs the person out of every browser ("đăng xuất mọi nơi").
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # "<issuer>|<sub>" of the city account bound at the first single sign-on: later sign-ins are matched
    # by it, because the provider may rename a username or give an address to someone else; sub it never reuses.
    sso_subject: Mapped[str | None] = mapped_column(String(300), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    manager: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[manager_id])

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    def get_id(self) -> str:  # flask-login: a changed session_version invalidates old sessions
        return f"{self.id}:{self.session_version}"

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
