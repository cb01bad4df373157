"""Who may see or do what, beyond task assignment (which tasks.check_assignee checks)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select, true

from app.extensions import db
from app.models import HumanTask, ProcessInstance, Unit, User

from app.services.errors import Forbidden


def is_admin(user: User) -> bool:
    return user.has_role("admin")


def agencies_led(user: User) -> list[Unit]:
    return db.session.scalars(select(Unit).where(Unit.head_id == user.id)).all()


def hr_scope(user: User) -> set[int]:
    """Unit ids an HR officer watches: their agency's subtree."""
    if not user.has_role("hr_officer") or user.unit is None:
        return set()
    agency = user.unit.agency() or user.unit
    return set(agency.subtree_ids())


def visible_unit_ids(user: User) -> set[int] | None:
    """None means everything (admin)."""
    if is_admin(user):
        return None
    ids = hr_scope(user)
    for agency in agencies_led(user):
        ids |= set(agency.subtree_ids())
    return ids


def units_in(scope: set[int] | None) -> list[Unit]:
    """The units of a scope from `visible_unit_ids` (None: every unit)."""
    query = select(Unit) if scope is None else select(Unit).where(Unit.id.in_(scope or {-1}))
    return db.session.scalars(query).all()


def unit(unit_id: int) -> Unit | None:
    return db.session.get(Unit, unit_id)


def require_hr_for(user: User, unit: Unit) -> None:
    if is_admin(user) or unit.id in hr_scope(user):
        return
    raise Forbidden(
        "Chỉ cán bộ tổ chức của cơ quan mới được mở kỳ đánh giá cho đơn vị này.",
        "Only the agency's HR officers may open a month for this unit.",
    )


def can_view_instance(user: User, instance: ProcessInstance) -> bool:
    if instance.subject_id == user.id or is_admin(user):
        return True
    scope = visible_unit_ids(user)
    if scope is not None and instance.unit_id in scope:
        return True
    if instance.subject.manager_id == user.id:
        return True
    return (
        db.session.scalar(
            select(HumanTask.id).where(HumanTask.instance_id == instance.id, HumanTask.assignee_id == user.id).limit(1)
        )
        is not None
    )


def require_view(user: User, instance: ProcessInstance) -> None:
    if not can_view_instance(user, instance):
        raise Forbidden("Anh/chị không có quyền xem hồ sơ này.", "You may not see this evaluation.")


# --- record scope (dashboards, lists, exports) -------------------------------------------------
# Who sees whose evaluation records (issue #5): an administrator everything; an HR officer their
# agency's subtree; the head of a unit (agency or division) that unit's subtree; a direct manager
# the people whose `manager` they are; everybody their own records. The scope is the union.


@dataclass(frozen=True)
class Scope:
    """`everything` for administrators; else records whose unit is in `unit_ids`, plus the records
    of the people in `subject_ids` (the viewer and their direct reports) wherever they are."""

    everything: bool
    unit_ids: frozenset[int] = frozenset()
    subject_ids: frozenset[int] = frozenset()
    subject_unit_ids: frozenset[int] = frozenset()  # the units those people belong to now

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.unit_ids and not self.subject_ids

    def clause(self, unit_col, subject_col, within: set[int] | None = None):
        """A WHERE clause for a table with a unit and a subject column; `within` narrows to a subtree."""
        if self.everything:
            return true() if within is None else unit_col.in_(within)
        units = set(self.unit_ids) if within is None else set(self.unit_ids) & within
        parts = []
        if units:
            parts.append(unit_col.in_(units))
        if self.subject_ids:
            mine = subject_col.in_(self.subject_ids)
            parts.append(mine if within is None else and_(unit_col.in_(within), mine))
        return or_(*parts) if parts else false()

    def touches(self, subtree: set[int]) -> bool:
        """Whether anything in the subtree may be visible: else asking for it is a 403, not an empty page."""
        return self.everything or bool(subtree & (self.unit_ids | self.subject_unit_ids))


def direct_report_ids(user: User) -> set[int]:
    """The people whose direct manager (on file) the user is."""
    return set(db.session.scalars(select(User.id).where(User.manager_id == user.id)))


def record_scope(user: User) -> Scope:
    if is_admin(user):
        return Scope(everything=True)
    units = visible_unit_ids(user) or set()
    subjects = {user.id} | direct_report_ids(user)
    subject_units = set(
        db.session.scalars(select(User.unit_id).where(User.id.in_(subjects), User.unit_id.is_not(None)))
    )
    return Scope(False, frozenset(units), frozenset(subjects), frozenset(subject_units))


def can_operate(user: User, instance: ProcessInstance) -> bool:
    """HR officers of the instance's agency and administrators run operations (reassign, extend,
    suspend…) — never on their own evaluation."""
    if instance.subject_id == user.id:
        return False
    return is_admin(user) or instance.unit_id in hr_scope(user)


def require_operate(user: User, instance: ProcessInstance) -> None:
    if instance.subject_id == user.id:
        raise Forbidden(
            "Không ai được thao tác trên hồ sơ đánh giá của chính mình.",
            "Nobody may run operations on their own evaluation.",
        )
    if not can_operate(user, instance):
        raise Forbidden(
            "Chỉ cán bộ tổ chức của cơ quan hoặc quản trị hệ thống mới được thực hiện thao tác này.",
            "Only the agency's HR officers or administrators may do this.",
        )
