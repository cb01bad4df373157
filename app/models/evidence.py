"""Evidence (minh chứng) attached to a record or to one of its plan items, and the comment threads.

`item_id` names a plan item without a foreign key: plan items live in their own projection table and an
evidence row must outlive any change to it. Rows are never deleted: a replaced file keeps its row (and
its bytes) with `replaced_by_id` set, and a file withdrawn before the decision keeps its row with
`deleted_at` set (only its bytes go), so the history shows what was there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .org import User
from .types import UTCDateTime, utcnow


class Evidence(db.Model):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    item_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # "file" or "link"
    name: Mapped[str] = mapped_column(String(255))  # sanitised file name, or the link's title
    url: Mapped[str | None] = mapped_column(Text)  # links only (http/https)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(128))  # from the content, never from the name
    storage: Mapped[str | None] = mapped_column(String(8))  # "fs" or "s3": where the bytes are
    storage_key: Mapped[str | None] = mapped_column(String(255))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])

    @property
    def current(self) -> bool:
        return self.deleted_at is None and self.replaced_by_id is None


class Comment(db.Model):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    item_id: Mapped[int | None] = mapped_column(Integer)  # None: the record's own thread
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])


Index("ix_evidence_instance", Evidence.instance_id, Evidence.item_id)
Index("ix_comments_instance", Comment.instance_id, Comment.item_id, Comment.id)
