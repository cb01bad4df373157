"""Who holds a lane: roles relative to the subject, resolved from the org chart (DOMAIN.md §2).

Nobody reviews or decides their own record: a role that resolves to the subject goes one
level up. A lane whose role is not one of these names a group: a user holding that role in
the subject's agency.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Unit, User

ROLE_LABELS = {
    "subject": "Người được đánh giá",
    "direct_manager": "Lãnh đạo trực tiếp",
    "decider": "Thủ trưởng cơ quan, đơn vị",
    "superior_decider": "Cấp trên trực tiếp",
    "hr_officer": "Cán bộ tổ chức",
}


def agency_of(user: User) -> Unit | None:
    return user.unit.agency() if user.unit else None


def _head_above(agency: Unit | None, subject: User) -> User | None:
    """The head of the first agency at or above `agency` who is not the subject."""
    unit = agency
    while unit is not None:
        if unit.is_agency and unit.head is not None and unit.head.id != subject.id and unit.head.active:
            return unit.head
        unit = unit.parent
    return None


def decider_for(subject: User) -> User | None:
    return _head_above(agency_of(subject), subject)


def superior_decider_for(subject: User) -> User | None:
    agency = agency_of(subject)
    return _head_above(agency.parent if agency else None, subject)


def direct_manager_for(subject: User) -> User | None:
    manager = subject.manager
    if manager is not None and manager.id != subject.id and manager.active:
        return manager
    return decider_for(subject)


def resolve(role: str | None, subject: User) -> User | None:
    if role == "subject":
        return subject
    if role == "direct_manager":
        return direct_manager_for(subject)
    if role == "decider":
        return decider_for(subject)
    if role == "superior_decider":
        return superior_decider_for(subject)
    if not role:
        return None
    agency = agency_of(subject)
    scope = agency.subtree_ids() if agency else []
    candidates = db.session.scalars(
        select(User).where(User.active.is_(True), User.unit_id.in_(scope), User.id != subject.id)
        .order_by(User.id)).all()
    return next((u for u in candidates if u.has_role(role)), None)
