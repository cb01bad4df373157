"""Drafts of a process version that designers edit in the browser before publishing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import User
from .types import UTCDateTime, utcnow
from .workflow import ProcessVersion


class ProcessDraft(db.Model):
    """An editable set of files (BPMN, DMN, forms). Publishing copies the files into a new, immutable
    ProcessVersion; the draft then stays as a record (status `published`) and is no longer editable."""

    __tablename__ = "process_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    files: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | published | discarded
    revision: Mapped[int] = mapped_column(default=1)  # +1 on every save (lost-update check)
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    base_version: Mapped[ProcessVersion | None] = relationship(foreign_keys=[base_version_id])
    published_version: Mapped[ProcessVersion | None] = relationship(foreign_keys=[published_version_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
