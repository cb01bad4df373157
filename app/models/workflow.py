"""Process versions, process instances and the human-task projection."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import Unit, User
from .types import UTCDateTime, utcnow

if TYPE_CHECKING:  # the record module imports this one
    from .evaluation import EvaluationRecord


class ProcessVersion(db.Model):
    """An immutable set of files (BPMN, DMN, forms) that instances run on."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="published")
    files: Mapped[dict] = mapped_column(JSON, deferred=True)  # big: loaded on use (specs caches a copy)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(255), default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")  # release notes (Markdown)
    tags: Mapped[str] = mapped_column(String(255), default="", server_default="")  # space separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def tag_list(self) -> list[str]:
        return (self.tags or "").split()


class ProcessInstance(db.Model):
    """One person's evaluation of one month: the engine snapshot plus what lists need."""

    __tablename__ = "process_instances"
    __table_args__ = (UniqueConstraint("subject_id", "period", name="uq_instance_subject_period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16), default="running")
    step: Mapped[str] = mapped_column(String(255), default="")
    snapshot: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(16))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": lock_version}

    version: Mapped[ProcessVersion] = relationship()
    subject: Mapped[User] = relationship(foreign_keys=[subject_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    agency: Mapped[Unit] = relationship(foreign_keys=[agency_id])
    # the business projection of this instance (one per instance); read-only from this side
    record: Mapped["EvaluationRecord | None"] = relationship("EvaluationRecord", uselist=False, viewonly=True)


TASK_READY = "ready"  # the status of a human task someone has to do (the inbox shows these)


class HumanTask(db.Model):
    """One READY user task (and its history once done): the inbox never deserializes workflows."""

    __tablename__ = "human_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    step: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    lane_role: Mapped[str | None] = mapped_column(String(64))
    form: Mapped[str | None] = mapped_column(String(255))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16), default=TASK_READY)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instance: Mapped[ProcessInstance] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])
    subject: Mapped[User] = relationship(foreign_keys=[subject_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


Index("ix_human_tasks_inbox", HumanTask.assignee_id, HumanTask.status, HumanTask.due_at)
Index("ix_human_tasks_due", HumanTask.status, HumanTask.due_at)
Index("ix_human_tasks_agency", HumanTask.agency_id, HumanTask.period, HumanTask.step, HumanTask.status)
Index("ix_instances_agency_period", ProcessInstance.agency_id, ProcessInstance.period, ProcessInstance.status)
Index("ix_instances_unit_period", ProcessInstance.unit_id, ProcessInstance.period)
# 0005_scale: the timer workers' keyset scan, a month's instances that need HR, the overdue sweep
_RUNNING, _ATTENTION = text("status = 'running'"), text("status IN ('suspended', 'error')")
_UNREPORTED = text("status = 'ready' AND overdue_notified_at IS NULL")
Index(
    "ix_instances_timer_due",
    ProcessInstance.next_timer_at,
    ProcessInstance.id,
    postgresql_where=_RUNNING,
    sqlite_where=_RUNNING,
)
Index(
    "ix_instances_attention",
    ProcessInstance.period,
    ProcessInstance.status,
    postgresql_where=_ATTENTION,
    sqlite_where=_ATTENTION,
)
Index("ix_human_tasks_overdue", HumanTask.due_at, HumanTask.id, postgresql_where=_UNREPORTED, sqlite_where=_UNREPORTED)
