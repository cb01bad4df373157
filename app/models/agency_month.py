"""What the head decided about an agency's month as a whole: the exceptional month (tháng đặc biệt)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import Unit, User
from .types import UTCDateTime


class AgencyMonth(db.Model):
    """One agency and one period. The exceptional marking raises the cap on level A (Hà Nội: 40 % instead
    of 30 %) for every decision in that agency-month — the batch that marked it and every later one (late
    records, the head's own record decided by the superior, appeal amendments) — so it is kept here with
    its reason, who marked it and when, not only in the audit trail of one batch."""

    __tablename__ = "agency_months"
    __table_args__ = (UniqueConstraint("agency_id", "period", name="uq_agency_months_agency_period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))
    exceptional_reason: Mapped[str | None] = mapped_column(Text)
    exceptional_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    exceptional_on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    exceptional_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Unit] = relationship()
    exceptional_by: Mapped[User | None] = relationship(foreign_keys=[exceptional_by_id])
    exceptional_on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[exceptional_on_behalf_of_id])

    @property
    def exceptional(self) -> bool:
        return bool(self.exceptional_reason)
