"""Where a person works in a month: the unit where they worked most evaluates (docs/domain.md, "Who evaluates whom")."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Membership, User
from app.rules.workdays import month_after, parse_period

from app.services import audit
from app.services.errors import Invalid

log = logging.getLogger(__name__)


def month_bounds(period: str) -> tuple[date, date]:
    year, month = parse_period(period)
    return date(year, month, 1), month_after(period) - timedelta(days=1)


def main_units(period: str, user_ids: list[int] | None = None) -> dict[int, int]:
    """user id -> the unit where they worked the most days of the month, for people whose
    memberships cover part of it (ties go to the later unit)."""
    first, last = month_bounds(period)
    query = select(Membership).where(Membership.start <= last, or_(Membership.end.is_(None), Membership.end >= first))
    if user_ids is not None:
        query = query.where(Membership.user_id.in_(user_ids))
    days: dict[int, dict[int, tuple[int, date]]] = defaultdict(dict)
    for m in db.session.scalars(query):
        start, end = max(m.start, first), min(m.end or last, last)
        n = (end - start).days + 1
        prev = days[m.user_id].get(m.unit_id, (0, start))
        days[m.user_id][m.unit_id] = (prev[0] + n, max(prev[1], start))
    return {uid: max(units, key=lambda u: units[u]) for uid, units in days.items()}


def transfer(
    user: User, unit_id: int, on: date, *, actor: User | None = None, source: str = "page", details: dict | None = None
) -> None:
    """Move `user` to another unit from `on`, keeping where they were before (the caller commits).

    The month's evaluation then goes to the unit where they worked the most days (main_units). A
    transfer must come after the start of the current membership; one to the unit they are in is refused."""
    if unit_id == user.unit_id:
        raise Invalid(
            "Người này đang ở đơn vị đó.",
            "The person is already in that unit.",
            [
                {
                    "field": "unit",
                    "message": "Người này đang ở đơn vị đó.",
                    "message_en": "The person is already in that unit.",
                }
            ],
        )
    current = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.end.is_(None))
    ).first()
    if current is not None and on <= current.start:
        message = f"Ngày chuyển phải sau ngày bắt đầu ở đơn vị hiện tại ({current.start:%d/%m/%Y})."
        message_en = f"The transfer must come after the start in the current unit ({current.start:%Y-%m-%d})."
        raise Invalid(message, message_en, [{"field": "on", "message": message, "message_en": message_en}])
    from_unit = user.unit_id
    if current is None:
        current = Membership(user_id=user.id, unit_id=user.unit_id, start=date(2000, 1, 1))
        db.session.add(current)
    current.end = on - timedelta(days=1)
    db.session.add(Membership(user_id=user.id, unit_id=unit_id, start=on))
    user.unit_id = unit_id
    audit.record(
        "transferred",
        actor=actor,
        step=user.username,
        details={
            "user_id": user.id,
            "from_unit_id": from_unit,
            "to_unit_id": unit_id,
            "effective": on.isoformat(),
            "source": source,
            **(details or {}),
        },
    )
    log.info("transfer: user %s from unit %s to unit %s from %s (%s)", user.id, from_unit, unit_id, on, source)
