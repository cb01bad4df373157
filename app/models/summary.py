"""The city's month in numbers: how many records stand at each (period, status, level, published) and
the sum of their totals, for the city-wide dashboard's 12-month trend (services/reporting/summary.py).

Database triggers on evaluation_records append a delta row for every change that moves a record
(insert, decision, publication, appeal, lock, delete); the worker folds the deltas into the summary.
Appending instead of updating one counter row keeps concurrent completions from queueing (or
deadlocking) on the same hot row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

from .types import UTCDateTime


class RecordSummary(db.Model):
    __tablename__ = "record_summary"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(1), primary_key=True, default="")  # '' = no level yet
    published: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    n_total: Mapped[int] = mapped_column(Integer, default=0)  # records with a total (not NULL)
    sum_total: Mapped[float] = mapped_column(Float, default=0.0)


class RecordUnitSummary(db.Model):
    """The same per unit, for one month of the city: a few rows per unit instead of every record."""

    __tablename__ = "record_unit_summary"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(1), primary_key=True, default="")
    published: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    n_total: Mapped[int] = mapped_column(Integer, default=0)
    sum_total: Mapped[float] = mapped_column(Float, default=0.0)


class RecordSummaryDelta(db.Model):
    __tablename__ = "record_summary_delta"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    unit_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(1))
    published: Mapped[int] = mapped_column(SmallInteger)
    dn: Mapped[int] = mapped_column(Integer)
    dn_total: Mapped[int] = mapped_column(Integer)
    dsum: Mapped[float] = mapped_column(Float)


class OverdueSnapshot(db.Model):
    """The city's overdue tasks of one open month as the worker last counted them (by step and unit,
    and the holders with the most per step): the city dashboard shows it while it is recent."""

    __tablename__ = "overdue_snapshots"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[list] = mapped_column(JSON)
    holders: Mapped[list] = mapped_column(JSON)
