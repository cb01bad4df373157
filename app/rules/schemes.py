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
GROUP_II_STAFF = [
    ("II.1", "Khối lượng công việc so với kế hoạch", 25),
    ("II.2", "Chất lượng, hiệu quả công việc", 25),
    ("II.3", "Tiến độ, thời hạn thực hiện", 20),
]
GROUP_II_LEADER = [
    ("II.1", "Kết quả thực hiện nhiệm vụ cá nhân", 30),
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
ND335_TASKS = [
    ("II.1", "Khối lượng nhiệm vụ hoàn thành", 30),
    ("II.2", "Chất lượng, hiệu quả", 25),
    ("II.3", "Tiến độ thực hiện", 15),
]


def _criteria(group_i: list[tuple[str, str, int]], group_ii: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    return ([{"code": c, "group": "I", "name": n, "max": m} for c, n, m in group_i]
            + [{"code": c, "group": "II", "name": n, "max": m} for c, n, m in group_ii])


QUOTA_HANOI = {"rule": "share_of_evaluated", "share": 0.30, "exceptional_share": 0.40}
QUOTA_335 = {"rule": "share_of_b", "share": 0.20, "exceptional_share": 0.20}

SCHEMES = {
    "hanoi-monthly": {
        "name": "Hà Nội hằng tháng",
        "effective_from": "2018-07",
        "quota": QUOTA_HANOI,
        "groups": GROUP_NAMES,
        "criteria": {"staff": _criteria(GROUP_I, GROUP_II_STAFF),
                     "contract": _criteria(GROUP_I, GROUP_II_STAFF),
                     "leader": _criteria(GROUP_I, GROUP_II_LEADER)},
    },
    "nd335-2025": {
        "name": "Nghị định 335/2025",
        "effective_from": "2026-01",
        "quota": QUOTA_335,
        "groups": {"I": "Tiêu chí chung", "II": "Kết quả thực hiện nhiệm vụ"},
        "criteria": {pg: _criteria(ND335_GENERAL, ND335_TASKS) for pg in ("staff", "contract", "leader")},
    },
}
DEFAULT_SCHEME = "hanoi-monthly"


def criteria_for(definition: dict[str, Any], position_group: str) -> list[dict[str, Any]]:
    table = definition["criteria"]
    return [dict(c) for c in table.get(position_group) or table["staff"]]
