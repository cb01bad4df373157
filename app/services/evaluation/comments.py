"""Comment threads (trao đổi) on a record and on each of its plan items.

The record's chain writes (evidence.writer: subject, direct manager, decider, task holders, a deputy for
one of them); whoever else may see the record reads. Each comment tells the other participants and is
in the audit trail. Comments are never edited or deleted: they are part of the record's history."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Comment, ProcessInstance, User
from app.models.types import utcnow

from app.services import audit
from . import evidence, instances
from app.services.messaging import notifications
from app.services.errors import Invalid, ServiceError

MAX_BODY = 4000


class TooMany(ServiceError):
    status, code = 429, "rate_limited"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_body(body) -> str:
    text = _CONTROL.sub("", body if isinstance(body, str) else "").replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_BODY:
        vi, en = (f"Nhập nội dung trao đổi (1-{MAX_BODY} ký tự).", f"Write a comment (1 to {MAX_BODY} characters).")
        raise Invalid(vi, en, [{"field": "body", "message": vi, "message_en": en}])
    return text


def add(instance_id: int, user: User, body, item_id=None) -> Comment:
    instance = instances.get(instance_id)
    principal = evidence.require_writer(user, instance)
    item = evidence.check_item(instance, item_id)
    text = _check_body(body)
    evidence.require_open(instance, instances.record_of(instance))
    instances.hold(instance.id)  # two comments at once cannot both pass the hourly pace
    _require_pace(instance, user)
    row = Comment(
        instance_id=instance.id,
        item_id=item,
        author_id=user.id,
        on_behalf_of_id=principal.id if principal is not None else None,
        body=text,
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "comment_added",
        instance=instance,
        actor=user,
        on_behalf_of=principal,
        details={"comment_id": row.id, "item_id": item, "body": text[:500]},
    )
    _notify(instance, user, principal, row)
    return row


def _require_pace(instance: ProcessInstance, user: User) -> None:
    """At most COMMENTS_PER_HOUR comments by one person on one record in an hour: each comment notifies
    (and mails) every participant, so a loop would flood their inboxes."""
    limit = int(current_app.config.get("COMMENTS_PER_HOUR", 30))
    recent = (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.instance_id == instance.id,
                Comment.author_id == user.id,
                Comment.created_at > utcnow() - timedelta(hours=1),
            )
        )
        or 0
    )
    if recent >= limit:
        raise TooMany(
            f"Anh/chị đã gửi {recent} trao đổi về hồ sơ này trong một giờ; hãy thử lại sau.",
            f"You sent {recent} comments on this record within an hour; try again later.",
        )


def _notify(instance: ProcessInstance, author: User, principal: User | None, row: Comment) -> None:
    excerpt = row.body if len(row.body) <= 140 else row.body[:139] + "…"
    period = f"{instance.period[5:]}/{instance.period[:4]}"
    where_vi = f" (việc #{row.item_id})" if row.item_id else ""
    where_en = f" (item #{row.item_id})" if row.item_id else ""
    vi = f"{author.full_name} trao đổi về hồ sơ tháng {period} của {instance.subject.full_name}{where_vi}: “{excerpt}”"
    en = f"{author.full_name} commented on {instance.subject.full_name}'s record for {period}{where_en}: “{excerpt}”"
    skip = {author.id} | ({principal.id} if principal is not None else set())
    for user_id in sorted(evidence.participants(instance) - skip):
        notifications.send(user_id, "comment", vi, instance.id, en)


def list_for(instance_id: int, item_id: int | None = None, *, all_items: bool = True) -> list[Comment]:
    """The record's comments, oldest first: every thread (all_items), or one (item_id None: the record's own)."""
    query = (
        select(Comment)
        .options(joinedload(Comment.author), joinedload(Comment.on_behalf_of))
        .where(Comment.instance_id == instance_id)
        .order_by(Comment.id)
    )
    if not all_items:
        query = query.where(Comment.item_id.is_(None) if item_id is None else Comment.item_id == item_id)
    return list(db.session.scalars(query))


def visible_list(user: User, instance_id: int) -> list[Comment]:
    evidence.require_reader(user, instances.get(instance_id))
    return list_for(instance_id)


def as_json(row: Comment) -> dict:
    return {
        "id": row.id,
        "instance_id": row.instance_id,
        "item_id": row.item_id,
        "author": {"username": row.author.username, "full_name": row.author.full_name},
        "on_behalf_of": row.on_behalf_of.username if row.on_behalf_of else None,
        "body": row.body,
        "created_at": row.created_at.isoformat(),
    }
