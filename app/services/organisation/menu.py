"""The header menu: each person sees the pages they may open, and nothing that would answer 403.

The menu asks the same questions the pages ask (`access`, `authority`), so a link is shown exactly when
its page serves the person something of their own. Labels are marked for the catalog here and
translated when the page renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.i18n import N_
from app.models import HumanTask, Unit, User
from app.models.workflow import TASK_READY

from . import access, authority


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: str


def _leads_a_unit(user: User) -> bool:
    return db.session.scalar(select(Unit.id).where(Unit.head_id == user.id).limit(1)) is not None


def _has_decider_work(user: User) -> bool:
    assignees = [user.id] + [p.id for p in authority.principals_of(user)]
    return (
        db.session.scalar(
            select(HumanTask.id)
            .where(
                HumanTask.assignee_id.in_(assignees),
                HumanTask.status == TASK_READY,
                # the head's lane: deciding, scoring a division leader, answering appeals
                HumanTask.lane_role == "decider",
            )
            .limit(1)
        )
        is not None
    )


def menu_for(user: User) -> list[MenuItem]:
    """The main menu of a signed-in person, in the order of their month's work."""
    admin = access.is_admin(user)
    hr = user.has_role("hr_officer")
    leads = admin or _leads_a_unit(user)
    manages = leads or bool(access.direct_report_ids(user))
    watches = admin or hr or leads  # someone with units to report on
    items = [MenuItem("tasks.inbox", N_("Việc của tôi"))]
    if leads or _has_decider_work(user):
        items.append(MenuItem("monitor.decision_batch", N_("Quyết định")))
    # one list of evaluations for everyone (filters and exports there): staff see their own records
    items.append(MenuItem("dashboard.evaluations_list", N_("Hồ sơ")))
    if watches or manages:
        items.append(MenuItem("dashboard.overview", N_("Tổng quan")))
    if hr or admin:
        items.append(MenuItem("monitor.open_month", N_("Mở kỳ")))
        items.append(MenuItem("account.pending", N_("Kích hoạt")))
        items.append(MenuItem("transfers.transfer_page", N_("Điều chuyển")))
    if watches:
        items.append(MenuItem("monitor.rollup_report", N_("Tổng hợp")))
    if manages or authority.principals_of(user):
        items.append(MenuItem("admin.delegations", N_("Ủy quyền")))
    if admin:
        items.append(MenuItem("admin.calendar_page", N_("Lịch")))
        items.append(MenuItem("admin.scheme_list", N_("Khung tiêu chí")))
        items.append(MenuItem("admin.users", N_("Người dùng")))
    if admin or user.has_role("designer"):
        items.append(MenuItem("designer.index", N_("Quy trình")))
    return items


def account_menu() -> list[MenuItem]:
    """The person's own settings, kept apart from the work so the main menu stays short."""
    return [MenuItem("auth.preferences", N_("Tùy chọn")), MenuItem("auth.change_password", N_("Mật khẩu"))]
