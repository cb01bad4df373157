"""Who holds a lane: roles relative to the subject, resolved from the org chart (docs/domain.md, "Who
evaluates whom"; docs/regulation.md for the head and delegations).

Nobody reviews or decides their own record: a role that resolves to the subject goes one level
up. Authority follows appointment dates (an acting head from an Appointment row wins over the
unit's head for its dates). Delegations (ủy quyền) do not change the assignee: the deputy sees
and completes the principal's tasks "on behalf of" them while the delegation runs.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from app import localtime
from app.extensions import db
from app.i18n import N_
from app.models import Appointment, Delegation, Unit, User

from app.services import reference_cache

ROLE_LABELS = {  # Vietnamese; marked for the English catalog (the modeler's lane picker translates them)
    "subject": N_("Người được đánh giá"),
    "direct_manager": N_("Lãnh đạo trực tiếp"),
    "decider": N_("Thủ trưởng cơ quan, đơn vị"),
    "superior_decider": N_("Cấp trên trực tiếp"),
    "hr_officer": N_("Cán bộ tổ chức"),
}


def today() -> date:
    return localtime.today()


def agency_of_unit(unit: Unit | None) -> Unit | None:
    return unit.agency() if unit else None


def head_of(unit: Unit, on: date) -> User | None:
    """The head in office on `on`: an acting or appointed head for those dates, else the unit's head."""
    appointment = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.unit_id == unit.id,
            Appointment.start <= on,
            or_(Appointment.end.is_(None), Appointment.end >= on),
        )
        .order_by(Appointment.start.desc())
        .limit(1)
    ).first()
    head = appointment.user if appointment else unit.head
    return head if head is not None and head.active else None


# Who decides, per unit and day: (agency id, id of its head in office or None, id of its head on file or
# None) for the agencies at and above the unit, nearest first. Read on every completion that reaches a
# gateway asking `same_holder`.
_head_chains = reference_cache.RefCache("head_chains", 60.0, {"units", "appointments", "users"})


def head_chain(unit: Unit | None, on: date) -> tuple[tuple[int, int | None, int | None], ...]:
    if unit is None:
        return ()

    def compute():
        chain = []
        for u in unit.ancestors():
            if u.is_agency:
                head = head_of(u, on)
                chain.append((u.id, head.id if head is not None else None, u.head_id))
        return tuple(chain)

    return _head_chains.get((unit.id, on), compute)


def _first_head(chain, subject_id: int) -> int | None:
    return next((head for _, head, on_file in chain if head is not None and subject_id not in (head, on_file)), None)


class Authority:
    """Role resolution on one date. Heads are looked up once per unit, so a bulk run (opening a
    month for thousands of people) asks the database once per unit, not once per person; the
    module functions below use a fresh one per call."""

    def __init__(self, on: date | None = None):
        self.on = on or today()
        self._heads: dict[int, User | None] = {}

    def head_of(self, unit: Unit) -> User | None:
        if unit.id not in self._heads:
            self._heads[unit.id] = head_of(unit, self.on)
        return self._heads[unit.id]

    def decider_id(self, subject: User, unit: Unit | None = None) -> int | None:
        """The head in office of the first agency at or above the unit that the subject does not head.
        The head of an agency — on file, or acting — is decided by the superior: an acting deputy never
        decides the absent head's own record."""
        return _first_head(head_chain(unit or subject.unit, self.on), subject.id)

    def superior_decider_id(self, subject: User, unit: Unit | None = None) -> int | None:
        """The same, from the agency above the unit's own."""
        return _first_head(head_chain(unit or subject.unit, self.on)[1:], subject.id)

    def decider_for(self, subject: User, unit: Unit | None = None) -> User | None:
        found = self.decider_id(subject, unit)
        return db.session.get(User, found) if found is not None else None

    def superior_decider_for(self, subject: User, unit: Unit | None = None) -> User | None:
        found = self.superior_decider_id(subject, unit)
        return db.session.get(User, found) if found is not None else None

    def holder_id(self, role: str | None, subject: User, unit: Unit | None = None) -> int | None:
        """`resolve(...).id` without loading the heads."""
        if role == "decider":
            return self.decider_id(subject, unit)
        if role == "superior_decider":
            return self.superior_decider_id(subject, unit)
        person = self.resolve(role, subject, unit)
        return person.id if person is not None else None

    def direct_manager_for(self, subject: User, unit: Unit | None = None) -> User | None:
        """The manager on file; for a person evaluated by another unit (a transfer), that unit's head
        or leader; the decider when neither exists."""
        if unit is not None and subject.unit_id != unit.id:
            leader = self.head_of(unit)
            if leader is not None and leader.id != subject.id:
                return leader
            return self.decider_for(subject, unit)
        manager = subject.manager
        if manager is not None and manager.id != subject.id and manager.active:
            return manager
        return self.decider_for(subject, unit)

    def resolve(self, role: str | None, subject: User, unit: Unit | None = None) -> User | None:
        if role == "subject":
            return subject
        if role == "direct_manager":
            return self.direct_manager_for(subject, unit)
        if role == "decider":
            return self.decider_for(subject, unit)
        if role == "superior_decider":
            return self.superior_decider_for(subject, unit)
        if not role:
            return None
        agency = agency_of_unit(unit or subject.unit)
        scope = agency.subtree_ids() if agency else []
        candidates = db.session.scalars(
            select(User).where(User.active.is_(True), User.unit_id.in_(scope), User.id != subject.id).order_by(User.id)
        ).all()
        return next((u for u in candidates if u.has_role(role)), None)


def decider_for(subject: User, unit: Unit | None = None, on: date | None = None) -> User | None:
    return Authority(on).decider_for(subject, unit)


def superior_decider_for(subject: User, unit: Unit | None = None, on: date | None = None) -> User | None:
    return Authority(on).superior_decider_for(subject, unit)


def direct_manager_for(subject: User, unit: Unit | None = None, on: date | None = None) -> User | None:
    return Authority(on).direct_manager_for(subject, unit)


def resolve(role: str | None, subject: User, unit: Unit | None = None, on: date | None = None) -> User | None:
    return Authority(on).resolve(role, subject, unit)


def principals_of(deputy: User, on: date | None = None) -> list[User]:
    """The people `deputy` acts for today."""
    on = on or today()
    return db.session.scalars(
        select(User)
        .join(Delegation, Delegation.principal_id == User.id)
        .where(
            Delegation.deputy_id == deputy.id,
            Delegation.revoked.is_(False),
            Delegation.start <= on,
            Delegation.end >= on,
        )
    ).all()


def acting_for(user: User, assignee_id: int | None, on: date | None = None) -> User | None | bool:
    """None when `user` is the assignee, the principal when acting by delegation, False otherwise."""
    if assignee_id is None:
        return False
    if assignee_id == user.id:
        return None
    return next((p for p in principals_of(user, on) if p.id == assignee_id), False)
