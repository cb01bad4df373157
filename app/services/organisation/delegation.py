"""Ủy quyền and acting appointments, created by an administrator (or by the principal for
their own authority), each audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Appointment, Delegation, Unit, User

from app.services import audit
from . import access
from app.services.errors import Forbidden, Invalid, NotFound


def listing(viewer: User) -> tuple[list[Delegation], list[Appointment]]:
    """The delegations `viewer` may see (all for an administrator, else theirs either way) and, for
    an administrator, the acting appointments."""
    query = select(Delegation).order_by(Delegation.start.desc())
    admin = access.is_admin(viewer)
    if not admin:
        query = query.where((Delegation.principal_id == viewer.id) | (Delegation.deputy_id == viewer.id))
    appointments = db.session.scalars(select(Appointment).order_by(Appointment.start.desc())).all() if admin else []
    return db.session.scalars(query).all(), appointments


def _user(username: str, field: str) -> User:
    user = db.session.scalars(select(User).where(User.username == (username or "").strip())).first()
    if user is None:
        raise Invalid(
            "Không tìm thấy người dùng.",
            "No such user.",
            [
                {
                    "field": field,
                    "message": f"Không có tài khoản {username!r}.",
                    "message_en": f"No account {username!r}.",
                }
            ],
        )
    return user


def _dates(start_text: str, end_text: str | None, end_required: bool = True) -> tuple[date, date | None]:
    errors = []
    start = end = None
    try:
        start = date.fromisoformat(start_text or "")
    except ValueError:
        errors.append(
            {
                "field": "start",
                "message": "Ngày bắt đầu phải có dạng YYYY-MM-DD.",
                "message_en": "The start must be YYYY-MM-DD.",
            }
        )
    if end_text or end_required:
        try:
            end = date.fromisoformat(end_text or "")
        except ValueError:
            errors.append(
                {
                    "field": "end",
                    "message": "Ngày kết thúc phải có dạng YYYY-MM-DD.",
                    "message_en": "The end must be YYYY-MM-DD.",
                }
            )
    if start and end and end < start:
        errors.append(
            {
                "field": "end",
                "message": "Ngày kết thúc phải sau ngày bắt đầu.",
                "message_en": "The end must not be before the start.",
            }
        )
    if errors:
        raise Invalid("Thời gian chưa hợp lệ.", "The dates are not valid.", errors)
    return start, end


def create_delegation(actor: User, principal: str, deputy: str, start: str, end: str, reason: str) -> Delegation:
    principal_user, deputy_user = _user(principal, "principal"), _user(deputy, "deputy")
    if not (access.is_admin(actor) or actor.id == principal_user.id):
        raise Forbidden(
            "Chỉ quản trị hoặc chính người ủy quyền mới tạo được ủy quyền.",
            "Only an administrator or the principal may delegate.",
        )
    if principal_user.id == deputy_user.id:
        raise Invalid(
            "Không thể tự ủy quyền cho chính mình.",
            "Cannot delegate to oneself.",
            [{"field": "deputy", "message": "Chọn người khác.", "message_en": "Choose someone else."}],
        )
    start_date, end_date = _dates(start, end)
    row = Delegation(
        principal_id=principal_user.id,
        deputy_id=deputy_user.id,
        start=start_date,
        end=end_date,
        reason=(reason or "").strip()[:255],
        created_by_id=actor.id,
    )
    db.session.add(row)
    audit.record(
        "delegation_created",
        actor=actor,
        on_behalf_of=principal_user,
        details={
            "deputy": deputy_user.username,
            "start": start_date.isoformat(),
            "end": end_date.isoformat(),
            "reason": row.reason,
        },
    )
    db.session.flush()
    return row


def revoke_delegation(actor: User, delegation_id: int) -> None:
    row = db.session.get(Delegation, delegation_id)
    if row is None:
        raise NotFound("Không tìm thấy ủy quyền.", "No such delegation.")
    if not (access.is_admin(actor) or actor.id == row.principal_id):
        raise Forbidden("Không có quyền thu hồi ủy quyền này.", "You may not revoke this delegation.")
    row.revoked = True
    audit.record("delegation_revoked", actor=actor, details={"delegation": row.id})
    db.session.flush()


def create_appointment(
    actor: User, unit_code: str, username: str, kind: str, start: str, end: str | None
) -> Appointment:
    if not access.is_admin(actor):
        raise Forbidden("Chỉ quản trị mới bổ nhiệm quyền thủ trưởng.", "Only administrators may appoint.")
    unit = db.session.scalars(select(Unit).where(Unit.code == (unit_code or ""))).first()
    if unit is None:
        raise Invalid(
            "Không tìm thấy đơn vị.",
            "No such unit.",
            [{"field": "unit", "message": f"Không có đơn vị {unit_code!r}.", "message_en": "No such unit."}],
        )
    user = _user(username, "username")
    start_date, end_date = _dates(start, end, end_required=False)
    row = Appointment(
        unit_id=unit.id,
        user_id=user.id,
        kind=kind if kind in ("acting", "head") else "acting",
        start=start_date,
        end=end_date,
    )
    db.session.add(row)
    audit.record(
        "appointment_created",
        actor=actor,
        details={
            "unit": unit.code,
            "user": user.username,
            "kind": row.kind,
            "start": start_date.isoformat(),
            "end": end_date.isoformat() if end_date else None,
        },
    )
    db.session.flush()
    return row
