"""Configuration of the regulation that administrators edit: calendar, schemes, delegations,
acting appointments and unit memberships (for transfers)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import Unit, User
from .types import UTCDateTime, utcnow


class CalendarDay(db.Model):
    """A day that differs from Monday–Friday-minus-public-holidays: `off` (extra day off) or
    `work` (a make-up working day, usually a Saturday)."""

    __tablename__ = "calendar_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Scheme(db.Model):
    """One immutable version of a scoring scheme; editing makes a new version."""

    __tablename__ = "schemes"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_schemes_code_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(255))
    effective_from: Mapped[str] = mapped_column(String(7))
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SchemeAssignment(db.Model):
    """Which scheme an agency (and its sub-units) uses from a period on."""

    __tablename__ = "scheme_assignments"
    __table_args__ = (UniqueConstraint("unit_id", "effective_from", name="uq_scheme_assignments_unit_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    scheme_code: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[str] = mapped_column(String(7))

    unit: Mapped[Unit] = relationship()


class Delegation(db.Model):
    """Ủy quyền: `deputy` acts for `principal` from `start` to `end` (inclusive)."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(255), default="")
    revoked: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id])


class Appointment(db.Model):
    """A head or acting head (quyền) of a unit for a date range; authority follows the dates."""

    __tablename__ = "appointments"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), default="acting")
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)

    user: Mapped[User] = relationship()


class Membership(db.Model):
    """Where a person worked when: a transfer closes one row and opens another."""

    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)

    unit: Mapped[Unit] = relationship()


Index("ix_memberships_unit_dates", Membership.unit_id, Membership.start)
