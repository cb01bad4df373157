"""The demo organisation that `make run` loads: Sở Nội vụ under the city leadership."""

from __future__ import annotations

from pathlib import Path

from .services import transaction
from .services.organisation import orgimport
from .services.process_design import versions

from app.models.workflow import TASK_READY

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "org.json"
DEMO_PASSWORD = "DanhGia@2026"


def load_demo() -> list[str]:
    payload = orgimport.read_file(DEMO_FILE)
    with transaction.committed():  # `flask demo` and the tests' fixtures call it as a command
        versions.sync_from_disk()
        orgimport.import_org(payload)
    lines = ["Tài khoản demo (mật khẩu chung / shared password: %s):" % DEMO_PASSWORD]
    for person in payload["people"]:
        roles = ", ".join(person.get("roles") or []) or person.get("position_group", "")
        lines.append(f"  {person['username']:<8} {person['full_name']:<24} {person['unit']:<10} {roles}")
    return lines


# A month of registered work for the demo (`flask demo --month`): everyone of Sở Nội vụ registers a plan
# and their manager approves it, so once the period ends nobody types a task-result score.
DEMO_ITEMS = [
    ("Báo cáo tổng hợp kết quả công tác tháng", "Báo cáo", 2),
    ("Thẩm định hồ sơ theo phân công", "Tờ trình, văn bản thẩm định", 1.5),
    ("Cập nhật cơ sở dữ liệu cán bộ, công chức", "Dữ liệu được cập nhật", 1),
    ("Tham mưu văn bản trả lời kiến nghị của cử tri", "Dự thảo văn bản", 1),
]


def demo_month(period: str) -> list[str]:
    """Open `period` for SNV with its sub-units (before the period ends: the plan comes first), register a
    plan for everyone and approve it as their manager. Idempotent: people already past the plan are left."""
    from sqlalchemy import select

    from .extensions import db
    from .models import HumanTask, User
    from .rules.workdays import parse_period
    from .services import transaction
    from .services.evaluation import cycles, tasks

    year, month = parse_period(period)
    hr = db.session.scalars(select(User).where(User.username == "nva")).one()
    with transaction.committed():
        opened = cycles.open_month("SNV", period, include_subunits=True, actor=hr)
    lines = [f"Mở kỳ {period}: {opened['started']} hồ sơ mới, {opened['skipped']} đã có."]
    for step in ("work_plan", "plan_approval"):
        ready = db.session.scalars(
            select(HumanTask)
            .where(HumanTask.period == period, HumanTask.step == step, HumanTask.status == TASK_READY)
            .order_by(HumanTask.id)
        ).all()
        for n, task in enumerate(ready):
            if task.assignee is None:
                continue
            if step == "work_plan":
                items = [
                    {
                        "title": title,
                        "product": product,
                        "weight": weight,
                        "deadline": f"{year:04d}-{month:02d}-{min(8 + 6 * i + n % 3, 28):02d}",
                    }
                    for i, (title, product, weight) in enumerate(DEMO_ITEMS[: 3 + n % 2])
                ]
                data = {"items": items}
            else:
                data = {"approve": True, "note": "Đồng ý kế hoạch."}
            with transaction.committed():  # each person's step is kept on its own
                tasks.complete(task.id, task.assignee, data)
            lines.append(f"  {step}: {task.subject.username} ({task.assignee.username})")
    return lines
