"""The business record of one evaluation, projected from the workflow after every run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import Unit, User
from .types import UTCDateTime, utcnow


class EvaluationRecord(db.Model):
    __tablename__ = "evaluation_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))
    scheme: Mapped[str] = mapped_column(String(64))
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("schemes.id"))
    status: Mapped[str] = mapped_column(String(32), default="self_evaluation")
    self_total: Mapped[float | None] = mapped_column(Float)
    review_total: Mapped[float | None] = mapped_column(Float)
    proposed_level: Mapped[str | None] = mapped_column(String(1))
    total: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(1))
    scores: Mapped[dict | None] = mapped_column(JSON)
    rules_applied: Mapped[list | None] = mapped_column(JSON)
    kpi: Mapped[dict | None] = mapped_column(JSON)  # the plan's measures and computed points (0011)
    self_evaluation_missed: Mapped[bool] = mapped_column(default=False)
    appealed: Mapped[bool] = mapped_column(default=False)
    not_evaluated_reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    subject: Mapped[User] = relationship(foreign_keys=[subject_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])


Index("ix_records_agency_period", EvaluationRecord.agency_id, EvaluationRecord.period, EvaluationRecord.status)
Index("ix_records_subject_period", EvaluationRecord.subject_id, EvaluationRecord.period)  # 0005_scale
