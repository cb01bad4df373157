"""Scoring schemes (khung tiêu chí; docs/domain.md, "Criteria and schemes"). A month copies its scheme's criteria into the
instance when it opens, so editing a scheme later never changes an open month."""

from __future__ import annotations

from typing import Any

GROUP_I = [
    ("I.1", "Chấp hành chủ trương, chính sách, pháp luật, quy định", 5),
    ("I.2", "Phẩm chất đạo đức, lối sống, tác phong, lề lối làm việc", 5),
    ("I.3", "Ý thức kỷ luật, chấp hành thời giờ làm việc", 5),
    ("I.4", "Tinh thần trách nhiệm, phối hợp, thái độ phục vụ nhân dân", 5),
]
# A fourth element says where the points come from (app/rules/kpi.py); without it they are typed.
GROUP_II_STAFF = [
    ("II.1", "Khối lượng công việc so với kế hoạch", 25, "plan:quantity"),
    ("II.2", "Chất lượng, hiệu quả công việc", 25, "plan:quality"),
    ("II.3", "Tiến độ, thời hạn thực hiện", 20, "plan:timeliness"),
]
GROUP_II_LEADER = [
    ("II.1", "Kết quả thực hiện nhiệm vụ cá nhân", 30, "plan:all"),
    ("II.2", "Kết quả của đơn vị phụ trách", 25),
    ("II.3", "Năng lực lãnh đạo, điều hành, tổ chức thực hiện", 15),
]
GROUP_NAMES = {
    "I": "Ý thức tổ chức kỷ luật, phẩm chất đạo đức",
    "II": "Kết quả thực hiện chức trách, nhiệm vụ được giao",
}
ND335_GENERAL = [
    ("I.1", "Chính trị, tư tưởng, đạo đức, lối sống", 10),
    ("I.2", "Ý thức tổ chức kỷ luật, tác phong, lề lối làm việc", 10),
    ("I.3", "Tinh thần trách nhiệm, thái độ phục vụ nhân dân", 10),
]
# Decree 335 as its published formula reads: a civil servant without a leadership post gets
# 70 × (a + b + c) / 3, i.e. every task criterion × the mean of the three measures; a leader gets 70 × the
# mean of a, b, c, the results of the units they lead and their capacity to organise the work.
ND335_STAFF_SOURCE = "plan:all"
ND335_LEADER_SOURCE = ["plan:quantity", "plan:quality", "plan:timeliness", "unit_results", "capacity"]
ND335_TASKS = [
    ("II.1", "Khối lượng nhiệm vụ hoàn thành", 30),
    ("II.2", "Chất lượng, hiệu quả", 25),
    ("II.3", "Tiến độ thực hiện", 15),
]


def _row(group: str, code: str, name: str, maximum: int, source: str | list[str] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"code": code, "group": group, "name": name, "max": maximum}
    if source:
        row["source"] = list(source) if isinstance(source, list) else source
    return row


def _criteria(
    group_i: list[tuple[Any, ...]], group_ii: list[tuple[Any, ...]], source: str | list[str] | None = None
) -> list[dict[str, Any]]:
    """Group I typed; group II from each row's own source (a fourth element), else from `source`."""
    return [_row("I", c[0], c[1], c[2]) for c in group_i] + [
        _row("II", c[0], c[1], c[2], c[3] if len(c) > 3 else source) for c in group_ii
    ]


QUOTA_HANOI = {"rule": "share_of_evaluated", "share": 0.30, "exceptional_share": 0.40}
QUOTA_335 = {"rule": "share_of_b", "share": 0.20, "exceptional_share": 0.20}

SCHEMES = {
    "hanoi-monthly": {
        "name": "Hà Nội hằng tháng",
        "effective_from": "2018-07",
        "quota": QUOTA_HANOI,
        "groups": GROUP_NAMES,
        "criteria": {
            "staff": _criteria(GROUP_I, GROUP_II_STAFF),
            "contract": _criteria(GROUP_I, GROUP_II_STAFF),
            "leader": _criteria(GROUP_I, GROUP_II_LEADER),
        },
    },
    "nd335-2025": {
        "name": "Nghị định 335/2025",
        "effective_from": "2026-01",
        "quota": QUOTA_335,
        "groups": {"I": "Tiêu chí chung", "II": "Kết quả thực hiện nhiệm vụ"},
        "criteria": {
            "staff": _criteria(ND335_GENERAL, ND335_TASKS, ND335_STAFF_SOURCE),
            "contract": _criteria(ND335_GENERAL, ND335_TASKS, ND335_STAFF_SOURCE),
            "leader": _criteria(ND335_GENERAL, ND335_TASKS, ND335_LEADER_SOURCE),
        },
    },
}
DEFAULT_SCHEME = "hanoi-monthly"


def criteria_for(definition: dict[str, Any], position_group: str) -> list[dict[str, Any]]:
    table = definition["criteria"]
    return [dict(c) for c in table.get(position_group) or table["staff"]]
