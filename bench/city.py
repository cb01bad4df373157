"""A synthetic city: a tree of agencies and divisions with people, heads, managers and HR officers,
written with COPY (PostgreSQL) so that 200,000 people take seconds.

Shape (like Hanoi after 2025: the city leadership, then sở/ban/ngành and phường/xã, each with divisions):
  HN                      the city leadership (an agency; its head is the superior decider of every agency)
  HN-A001 … HN-Annn       agencies (cơ quan), one per 20 units
  HN-A001-D01 …           divisions (phòng) inside each agency
Every unit has a head (its first person, position group "leader"); staff report to their division's head,
division heads to the agency's head, agency heads to the city's head. One HR officer per agency.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from sqlalchemy import text
from werkzeug.security import generate_password_hash

PASSWORD = "Bench@2026x"
SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quang", "Thanh", "Hoài", "Kim", "Xuân"]
GIVEN = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phong",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Trung",
    "Tuấn",
    "Vân",
    "Yến",
]


def _copy(conn, table: str, columns: list[str], rows) -> None:
    """COPY rows into `table` through psycopg's raw connection."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def build(engine, people: int, units: int, seed: int = 7) -> dict:
    """Create the organisation in an empty (migrated) database; return a summary."""
    rnd = random.Random(seed)
    units = max(units, 3)
    n_agencies = max(1, round((units - 1) / 20))
    divisions = units - 1 - n_agencies  # spread over the agencies, the first ones get one more
    unit_rows = [(1, "HN", "Thành phố Hà Nội (lãnh đạo thành phố)", None, True)]
    agency_of, uid = {}, 1
    for a in range(1, n_agencies + 1):
        uid += 1
        agency_id = uid
        unit_rows.append((agency_id, f"HN-A{a:03d}", f"Cơ quan {a:03d}", 1, True))
        agency_of[agency_id] = agency_id
        for d in range(1, divisions // n_agencies + (a <= divisions % n_agencies) + 1):
            uid += 1
            unit_rows.append((uid, f"HN-A{a:03d}-D{d:02d}", f"Phòng {d:02d} – cơ quan {a:03d}", agency_id, False))
            agency_of[uid] = agency_id
    unit_ids = [u[0] for u in unit_rows]
    # people spread over the units; every unit gets at least its head
    per_unit = {u: 1 for u in unit_ids}
    for _ in range(max(people - len(unit_ids), 0)):
        per_unit[unit_ids[1 + rnd.randrange(len(unit_ids) - 1)] if len(unit_ids) > 1 else 1] += 1
    pw_hash = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    now = datetime.now(timezone.utc)
    head_of: dict[int, int] = {}
    user_rows, pid = [], 0
    hr_done: set[int] = set()
    # heads first (so managers exist), then staff
    for u in unit_ids:
        pid += 1
        head_of[u] = pid
    parent = {u[0]: u[3] for u in unit_rows}
    for u in unit_ids:
        up = parent[u]
        manager = head_of[up] if up else None
        name = f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"
        user_rows.append((head_of[u], f"u{head_of[u]:06d}", name, None, pw_hash, u, "leader", manager, "", True, now))
    for u in unit_ids:
        for _ in range(per_unit[u] - 1):
            pid += 1
            roles = ""
            agency = agency_of.get(u)
            if agency and agency not in hr_done and u != agency:
                roles, _ = "hr_officer", hr_done.add(agency)
            name = f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"
            user_rows.append(
                (
                    pid,
                    f"u{pid:06d}",
                    name,
                    None,
                    pw_hash,
                    u,
                    rnd.choice(("staff",) * 9 + ("contract",)),
                    head_of[u],
                    roles,
                    True,
                    now,
                )
            )
    with engine.begin() as conn:
        _copy(conn, "units", ["id", "code", "name", "parent_id", "is_agency"], unit_rows)
        _copy(
            conn,
            "users",
            [
                "id",
                "username",
                "full_name",
                "email",
                "password_hash",
                "unit_id",
                "position_group",
                "manager_id",
                "roles",
                "active",
                "created_at",
            ],
            user_rows,
        )
        conn.execute(text("UPDATE units SET head_id = id"))  # the head of unit u is user u (see above)
        conn.execute(text("UPDATE users SET roles = 'admin hr_officer' WHERE id = 1"))
        conn.execute(text("SELECT setval('units_id_seq', (SELECT max(id) FROM units))"))
        conn.execute(text("SELECT setval('users_id_seq', (SELECT max(id) FROM users))"))
        conn.execute(text("ANALYZE units; ANALYZE users"))
    return {"units": len(unit_rows), "agencies": n_agencies, "people": len(user_rows)}
