"""What the monitoring pages keep per user: saved list filters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .types import UTCDateTime, utcnow


class SavedFilter(db.Model):
    """A named set of list filters (the query string of the evaluations or tasks list)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "kind", "name", name="uq_saved_filters_user_kind_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # evaluations | tasks
    name: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Indexes the dashboard and the lists rely on (migration 0006_monitor): a unit's month, by status.
from .evaluation import EvaluationRecord
from .org import User
from .workflow import HumanTask

Index("ix_records_unit_period_status", EvaluationRecord.unit_id, EvaluationRecord.period, EvaluationRecord.status)
Index("ix_records_period_status", EvaluationRecord.period, EvaluationRecord.status)
Index("ix_human_tasks_unit_period_status", HumanTask.unit_id, HumanTask.period, HumanTask.status)
Index("ix_users_full_name", User.full_name)
# Name search, lower(full_name) LIKE '%…%': a trigram (GIN) index on PostgreSQL, a plain expression index on SQLite.
Index(
    "ix_users_full_name_trgm",
    func.lower(User.full_name).label("full_name_lower"),
    postgresql_using="gin",
    postgresql_ops={"full_name_lower": "gin_trgm_ops"},
)
