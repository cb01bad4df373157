"""The month's registered work (kế hoạch công tác): one row per item, a projection like the inbox, so
lists, the decision page and the API never deserialize workflows (docs/regulation.md, work plans)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import User
from .types import UTCDateTime, utcnow

ORIGINS = ("plan", "assigned", "arising", "afterwards")


class PlanItem(db.Model):
    __tablename__ = "plan_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    period: Mapped[str] = mapped_column(String(7))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(500))
    product: Mapped[str | None] = mapped_column(String(500))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    deadline: Mapped[date | None] = mapped_column(Date)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # plan: registered at the start; assigned: "giao việc" by the manager; arising: "phát sinh" added by
    # the person during the month; afterwards: listed at self-evaluation of a month opened late
    origin: Mapped[str] = mapped_column(String(16), default="plan")
    status: Mapped[str] = mapped_column(String(16), default="accepted")  # pending | accepted
    done: Mapped[bool | None] = mapped_column(Boolean)
    completed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list | None] = mapped_column(JSON)
    delays: Mapped[int] = mapped_column(Integer, default=0)
    major_errors: Mapped[int] = mapped_column(Integer, default=0)
    objective_cause: Mapped[bool] = mapped_column(Boolean, default=False)
    objective_reason: Mapped[str | None] = mapped_column(Text)
    objective_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])
    subject: Mapped[User] = relationship(foreign_keys=[subject_id])


Index("ix_plan_items_instance", PlanItem.instance_id, PlanItem.position)
Index("ix_plan_items_period_subject", PlanItem.period, PlanItem.subject_id)
