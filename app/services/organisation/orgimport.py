"""Import units, people and heads (the organisation file) from JSON, CSV or XLSX, at city scale.

- Idempotent: units are matched by code and people by username. Every row is compared with what is
  stored and only the rows that differ are written, so an unchanged file writes nothing.
- All or nothing: every row is checked before anything is written; one bad row refuses the whole file,
  each error with its row number, and the writes run in one transaction.
- Bulk: new and changed rows go in chunks through INSERT … ON CONFLICT DO UPDATE (PostgreSQL and SQLite),
  manager links through one UPDATE per chunk; nothing is loaded as ORM objects.
- No passwords are handed out: a new person has none and activates their account (app.services.organisation.activation).
  A `password` column only applies to a person who has no password yet; a password someone has set is never
  changed by an import. No password is ever returned, printed or logged.
- A changed unit with a `unit_from` date (YYYY-MM-DD) records a transfer effective that day
  (app.services.organisation.membership); without a date the unit is corrected in place, as before.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import bindparam, case, select, update

from app import strict_json
from app.extensions import db
from app.models import Unit, User
from app.models.org import POSITION_GROUPS, is_assignable_role
from app.models.types import utcnow

from app.services import audit
from app.services.messaging import address_syntax
from . import accounts, membership
from app.services.errors import Invalid

log = logging.getLogger(__name__)

UNIT_FIELDS = ("code", "name", "parent", "is_agency")
PEOPLE_FIELDS = (
    "username",
    "full_name",
    "email",
    "unit",
    "unit_from",
    "position_group",
    "manager",
    "roles",
    "password",
)
CHUNK = 2000  # rows per statement: ~20,000 parameters, inside SQLite's and PostgreSQL's limits
MAX_ERRORS = 200  # a file with more bad rows reports the first ones (a wrong column breaks every row)
Progress = Callable[[int, int], None]  # (rows done, rows in all)


def read_file(path: str | Path) -> dict:
    """The file's rows; a file that cannot be read (broken zip, JSON nested past strict_json's depth, bad
    encoding) is one Invalid naming it, not a traceback."""
    path = Path(path)
    try:
        return _read(path)
    except Invalid:
        raise
    except (ValueError, UnicodeDecodeError, KeyError, OSError, zipfile.BadZipFile, RecursionError) as exc:
        log.warning("import-org: cannot read %s: %s", path.name, type(exc).__name__)
        raise Invalid(
            f"Không đọc được tệp {path.name}: tệp hỏng hoặc không đúng định dạng.",
            f"Cannot read {path.name}: the file is damaged or not in the expected format.",
        ) from None


def _read(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return strict_json.loads(path.read_text(encoding="utf-8"))
    if suffix == ".csv":
        return {"people": list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))}
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        out = {}
        for sheet in book.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            if not rows:
                continue
            header = [str(h).strip() if h is not None else "" for h in rows[0]]
            out[sheet.title.strip().lower()] = [
                {h: ("" if v is None else v) for h, v in zip(header, row)} for row in rows[1:] if any(row)
            ]
        if "people" not in out and len(out) == 1:
            out = {"people": next(iter(out.values()))}
        return out
    raise Invalid(
        f"Không đọc được tệp {path.name}: chỉ nhận .json, .csv, .xlsx",
        f"Cannot read {path.name}: only .json, .csv, .xlsx",
    )


def _bool(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "x", "có", "co")


def _roles(value) -> list[str]:
    if isinstance(value, list):
        return [str(r).strip() for r in value if str(r).strip()]
    return [r for r in str(value or "").replace(",", " ").split() if r]


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _bad_text(row: dict) -> str | None:
    """The first column whose value is not plain text: a list or object (str() would store "['x']"), or
    text with a NUL (PostgreSQL refuses it mid-import) or another control character."""
    for key, value in row.items():
        if isinstance(value, (list, dict)):
            return str(key)
        if isinstance(value, str) and any(unicodedata.category(ch) == "Cc" and ch not in "\t" for ch in value):
            return str(key)
    return None


def _unit_cycle(plan_units: dict, units: dict) -> list[str] | None:
    """The first loop in the parent links after the import (the file over what is stored), or None."""
    code_of = {uid: code for code, (uid, *_rest) in units.items()}
    parent = {code: code_of.get(row[3]) for code, row in units.items()}
    parent.update({code: u["parent"] or None for code, u in plan_units.items()})
    finished: set[str] = set()
    for start in parent:
        path, on_path, node = [], set(), start
        while node is not None and node not in finished:
            if node in on_path:
                return path[path.index(node) :] + [node]
            on_path.add(node)
            path.append(node)
            node = parent.get(node)
        finished |= on_path
    return None


def _date(value) -> date | None:
    """A `unit_from` cell: empty, an ISO date, or a date an XLSX file already holds."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


@dataclass
class Person:
    row: int
    username: str
    full_name: str
    email: str | None
    unit: str
    unit_from: date | None
    position_group: str
    manager: str
    roles: str
    password: str


@dataclass
class Stored:
    """What the database holds for one person (one row of a plain SELECT)."""

    id: int
    full_name: str
    email: str | None
    unit_id: int | None
    position_group: str
    roles: str
    manager_id: int | None
    has_password: bool


@dataclass
class Plan:
    units: dict[str, dict] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    heads: list[tuple[int, str, str]] = field(default_factory=list)  # (row, unit code, username)


class _Errors(list):
    def add(self, section: str, row: int, message: str, message_en: str) -> None:
        if len(self) < MAX_ERRORS:
            self.append(
                {
                    "field": f"{section}[{row}]",
                    "row": row,
                    "section": section,
                    "message": f"{section} dòng {row}: {message}",
                    "message_en": f"{section} row {row}: {message_en}",
                }
            )
        else:
            self.truncated = True


def import_org(payload: dict, on_progress: Progress | None = None) -> dict:
    """Check the whole file, then write what differs in one transaction. Returns counts (never passwords)."""
    if not isinstance(payload, dict):
        raise Invalid("Tệp tổ chức phải là một đối tượng JSON.", "The organisation file must be a JSON object.")
    units_in, people_in, heads_in = (payload.get(k) or [] for k in ("units", "people", "heads"))
    for key, rows in (("units", units_in), ("people", people_in), ("heads", heads_in)):
        if not isinstance(rows, list):
            raise Invalid(f"“{key}” phải là một danh sách.", f"“{key}” must be a list.")
    total = len(units_in) + 2 * len(people_in) + len(heads_in)
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if on_progress is not None:
            on_progress(min(done[0], total), total)

    units = {
        code: (uid, name, agency, parent, head)
        for uid, code, name, agency, parent, head in db.session.execute(
            select(Unit.id, Unit.code, Unit.name, Unit.is_agency, Unit.parent_id, Unit.head_id)
        )
    }
    stored = {
        r[1]: Stored(r[0], *r[2:])
        for r in db.session.execute(
            select(
                User.id,
                User.username,
                User.full_name,
                User.email,
                User.unit_id,
                User.position_group,
                User.roles,
                User.manager_id,
                User.password_hash != "",
            )
        )
    }
    plan = _check(units_in, people_in, heads_in, units, stored, advance)
    log.info("import-org: %d units, %d people, %d heads checked", len(plan.units), len(plan.people), len(plan.heads))
    counts = _write(plan, units, stored, advance)  # all or nothing: the caller's transaction
    audit.record("org_imported", details=counts)
    db.session.flush()
    log.info("import-org: %s", counts)
    return {"units": len(plan.units), "people": len(plan.people), "heads": len(plan.heads), **counts}


# --- checking -----------------------------------------------------------------------------------


def _check(units_in, people_in, heads_in, units, stored, advance) -> Plan:
    errors = _Errors()
    err = errors.add
    plan = Plan()
    for i, row in enumerate(units_in, start=1):
        if not isinstance(row, dict):
            err("units", i, "dòng không hợp lệ", "not an object")
            continue
        if (bad := _bad_text(row)) is not None:
            err(
                "units",
                i,
                f"cột {bad!r} phải là chữ, không chứa ký tự điều khiển",
                f"column {bad!r} must be plain text",
            )
            continue
        code, name = _text(row.get("code")), _text(row.get("name"))
        if not code or not name:
            err("units", i, "thiếu mã hoặc tên đơn vị", "code and name are required")
            continue
        if len(code) > 64 or len(name) > 255:
            err("units", i, "mã hoặc tên đơn vị quá dài", "code or name too long")
        plan.units[code] = {
            "row": i,
            "code": code,
            "name": name,
            "is_agency": _bool(row.get("is_agency")),
            "parent": _text(row.get("parent")),
        }
    all_units = set(units) | set(plan.units)
    for code, u in plan.units.items():
        if u["parent"] and u["parent"] not in all_units:
            err(
                "units",
                u["row"],
                f"đơn vị cấp trên {u['parent']!r} không tồn tại",
                f"parent {u['parent']!r} does not exist",
            )
        if u["parent"] == code:
            err("units", u["row"], "đơn vị không thể là cấp trên của chính nó", "a unit cannot be its own parent")
    advance(len(units_in))

    file_people = {_text(r.get("username")) for r in people_in if isinstance(r, dict)}
    all_users = set(stored) | file_people
    checker = address_syntax.AddressChecker()
    seen: set[str] = set()
    step = max(1, min(5000, len(people_in) // 50))
    for i, row in enumerate(people_in, start=1):
        if i % step == 0:
            advance(step)
        if not isinstance(row, dict):
            err("people", i, "dòng không hợp lệ", "not an object")
            continue
        if (bad := _bad_text(row)) is not None and bad != "roles":
            err(
                "people",
                i,
                f"cột {bad!r} phải là chữ, không chứa ký tự điều khiển",
                f"column {bad!r} must be plain text",
            )
            continue
        username, full_name = _text(row.get("username")), _text(row.get("full_name"))
        if not username or not full_name:
            err("people", i, "thiếu tên đăng nhập hoặc họ tên", "username and full_name are required")
            continue
        if len(username) > 64 or len(full_name) > 255:
            err("people", i, "tên đăng nhập hoặc họ tên quá dài", "username or full_name too long")
        if username in seen:
            err("people", i, f"tên đăng nhập {username!r} bị trùng", f"duplicate username {username!r}")
        seen.add(username)
        unit = _text(row.get("unit"))
        if unit not in all_units:
            err("people", i, f"đơn vị {row.get('unit')!r} không tồn tại", f"unit {row.get('unit')!r} does not exist")
        try:
            unit_from = _date(row.get("unit_from"))
        except ValueError:
            unit_from = None
            err(
                "people",
                i,
                f"ngày chuyển đơn vị {row.get('unit_from')!r} phải có dạng YYYY-MM-DD",
                f"unit_from {row.get('unit_from')!r} must be YYYY-MM-DD",
            )
        group = _text(row.get("position_group")) or "staff"
        if group not in POSITION_GROUPS:
            err(
                "people",
                i,
                f"nhóm vị trí {group!r} không hợp lệ ({', '.join(POSITION_GROUPS)})",
                f"position_group {group!r} must be one of {', '.join(POSITION_GROUPS)}",
            )
        manager = _text(row.get("manager"))
        if manager and manager not in all_users:
            err("people", i, f"lãnh đạo trực tiếp {manager!r} không tồn tại", f"manager {manager!r} does not exist")
        if manager == username:
            err("people", i, "không thể là lãnh đạo trực tiếp của chính mình", "cannot be one's own manager")
        roles = _roles(row.get("roles"))
        bad_roles = [r for r in roles if not is_assignable_role(r)]
        if bad_roles:
            err("people", i, f"vai trò không hợp lệ: {', '.join(bad_roles)}", f"unknown roles: {', '.join(bad_roles)}")
        address = _text(row.get("email"))
        if address:
            address, reason = address_syntax.problem(address, checker)
            if reason:
                # the reason names the bad part, never the whole cell (which may hold someone else's address)
                err(
                    "people",
                    i,
                    f"địa chỉ e-mail không hợp lệ (mỗi người đúng một địa chỉ): {reason}",
                    f"invalid e-mail address (exactly one address per person): {reason}",
                )
        password = _text(row.get("password"))
        if password and not (username in stored and stored[username].has_password):
            for problem in accounts.password_problems(password, username):
                err("people", i, problem.rstrip("."), "the password is too weak")
        plan.people.append(
            Person(i, username, full_name, address or None, unit, unit_from, group, manager, " ".join(roles), password)
        )
    advance(len(people_in) % step)
    for i, row in enumerate(heads_in, start=1):
        if not isinstance(row, dict) or _bad_text(row) is not None:
            err("heads", i, "dòng không hợp lệ", "not an object of plain text")
            continue
        unit, username = _text(row.get("unit")), _text(row.get("username"))
        if unit not in all_units:
            err("heads", i, f"đơn vị {row.get('unit')!r} không tồn tại", f"unit {row.get('unit')!r} does not exist")
        if username not in all_users:
            err(
                "heads",
                i,
                f"người {row.get('username')!r} không tồn tại",
                f"user {row.get('username')!r} does not exist",
            )
        plan.heads.append((i, unit, username))
    if not errors:
        loop = _unit_cycle(plan.units, units)
        if loop:
            raise Invalid(
                f"Quan hệ đơn vị cấp trên bị vòng lặp: {' → '.join(loop)}; chưa nhập gì.",
                f"The unit parents loop: {' → '.join(loop)}; nothing was imported.",
            )
        cycle = _manager_cycle(plan.people, stored)
        if cycle:
            raise Invalid(
                f"Quan hệ lãnh đạo trực tiếp bị vòng lặp: {' → '.join(cycle)}; chưa nhập gì.",
                f"The manager chain loops: {' → '.join(cycle)}; nothing was imported.",
            )
    if errors:
        more = "+" if getattr(errors, "truncated", False) else ""
        raise Invalid(
            f"Tệp có {len(errors)}{more} lỗi; chưa nhập gì.",
            f"{len(errors)}{more} errors; nothing was imported.",
            list(errors),
        )
    return plan


def _manager_cycle(people: list[Person], stored: dict[str, Stored]) -> list[str] | None:
    """The first loop in the manager links after the import (the file over what is stored), or None."""
    name_of = {s.id: u for u, s in stored.items()}
    boss = {u: name_of.get(s.manager_id) for u, s in stored.items()}
    boss.update({p.username: p.manager or None for p in people})
    finished: set[str] = set()
    for start in boss:
        path, on_path, node = [], set(), start
        while node is not None and node not in finished:
            if node in on_path:
                return path[path.index(node) :] + [node]
            on_path.add(node)
            path.append(node)
            node = boss.get(node)
        finished |= on_path
    return None


# --- writing ------------------------------------------------------------------------------------


def _insert(table):
    """The dialect's INSERT, which knows ON CONFLICT."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _chunks(rows: list, size: int = CHUNK):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _write(plan: Plan, units: dict, stored: dict[str, Stored], advance) -> dict:
    counts = {
        "units_written": 0,
        "people_created": 0,
        "people_updated": 0,
        "people_unchanged": 0,
        "managers_set": 0,
        "heads_set": 0,
        "transfers": 0,
    }
    # units: name and kind by upsert, then the parents (they may point at units created just now)
    changed = [
        u
        for code, u in plan.units.items()
        if code not in units or (units[code][1], units[code][2]) != (u["name"], u["is_agency"])
    ]
    table = Unit.__table__
    stmt = _insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.code], set_={"name": stmt.excluded.name, "is_agency": stmt.excluded.is_agency}
    )
    for chunk in _chunks(changed):
        db.session.execute(stmt, [{"code": u["code"], "name": u["name"], "is_agency": u["is_agency"]} for u in chunk])
    counts["units_written"] = len(changed)
    unit_id = (
        dict(db.session.execute(select(Unit.code, Unit.id)).all()) if changed else {c: v[0] for c, v in units.items()}
    )
    parents = [
        {"b_id": unit_id[code], "b_parent": unit_id.get(u["parent"])}
        for code, u in plan.units.items()
        if (units[code][3] if code in units else None) != unit_id.get(u["parent"])
    ]
    if parents:
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(parent_id=bindparam("b_parent")), parents
        )

    # people, by upsert of the rows that differ, managers before the people they manage (so every row
    # carries its manager's id and is written once: a second pass of UPDATEs costs as much again)
    method = _hash_method()
    ids = {u: s.id for u, s in stored.items()}
    transfers: list[tuple[Person, int]] = []
    table = User.__table__
    stmt = _insert(table)
    keep = {
        c: getattr(stmt.excluded, c) for c in ("full_name", "email", "unit_id", "position_group", "roles", "manager_id")
    }
    # a password someone has set (or activated) is never replaced by a file
    keep["password_hash"] = case(
        (table.c.password_hash == "", stmt.excluded.password_hash), else_=table.c.password_hash
    )
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.username], set_=keep)
    for level in _levels(plan.people, stored):
        rows, created = [], []
        for p in level:
            want_unit = unit_id[p.unit]
            want_manager = ids[p.manager] if p.manager else None
            now = stored.get(p.username)
            if now is not None and p.unit_from is not None and now.unit_id is not None and now.unit_id != want_unit:
                transfers.append((p, want_unit))
                want_unit = now.unit_id  # moved by the transfer below, with its date
            set_password = bool(p.password) and (now is None or not now.has_password)
            if (
                now is not None
                and not set_password
                and (now.full_name, now.email, now.unit_id, now.position_group, now.roles, now.manager_id)
                == (p.full_name, p.email, want_unit, p.position_group, p.roles, want_manager)
            ):
                counts["people_unchanged"] += 1
                continue
            if now is None:
                created.append(p.username)
            else:
                counts["managers_set"] += now.manager_id != want_manager
            rows.append(
                {
                    "username": p.username,
                    "full_name": p.full_name,
                    "email": p.email,
                    "unit_id": want_unit,
                    "position_group": p.position_group,
                    "roles": p.roles,
                    "manager_id": want_manager,
                    # hashed only for the few rows that bring a password for someone who has none
                    "password_hash": _hash(p.password, method) if set_password else "",
                    "active": True,
                    "session_version": 1,
                    "created_at": utcnow(),
                }
            )
        counts["people_created"] += len(created)
        counts["people_updated"] += len(rows) - len(created)
        for chunk in _chunks(rows, max(100, min(CHUNK, len(plan.people) // 50))):
            # one statement compiled once, run for every row of the chunk (executemany: psycopg pipelines it)
            db.session.execute(stmt, chunk)
            advance(len(chunk))
        advance(len(level) - len(rows))
        for chunk in _chunks(created, 10_000):
            ids.update(db.session.execute(select(User.username, User.id).where(User.username.in_(chunk))).all())

    heads = {code: v[4] for code, v in units.items()}
    head_rows = [
        {"b_id": unit_id[code], "b_head": ids[username]}
        for _, code, username in plan.heads
        if heads.get(code) != ids[username]
    ]
    if head_rows:
        db.session.execute(
            update(Unit.__table__).where(Unit.__table__.c.id == bindparam("b_id")).values(head_id=bindparam("b_head")),
            head_rows,
        )
    counts["heads_set"] = len(head_rows)
    advance(len(plan.heads))

    errors = _Errors()
    for p, to_unit in transfers:
        person = db.session.get(User, ids[p.username])
        try:
            membership.transfer(person, to_unit, p.unit_from, source="import")
        except Invalid as exc:
            errors.add("people", p.row, exc.message, exc.message_en or exc.message)
    if errors:
        raise Invalid(
            f"Tệp có {len(errors)} lỗi; chưa nhập gì.", f"{len(errors)} errors; nothing was imported.", list(errors)
        )
    counts["transfers"] = len(transfers)
    return counts


def _levels(people: list[Person], stored: dict[str, Stored]) -> list[list[Person]]:
    """The people in waves: someone whose manager is new to the database comes in the wave after that
    manager (a city has four or five levels). The manager links have no loop (checked before)."""
    by_name = {p.username: p for p in people}
    depth: dict[str, int] = {}
    for p in people:
        path, node = [], p
        while node.username not in depth and node.manager and node.manager not in stored:
            path.append(node)
            node = by_name[node.manager]
        d = depth.setdefault(node.username, 0)
        for q in reversed(path):
            d += 1
            depth[q.username] = d
    waves: list[list[Person]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for p in people:
        waves[depth[p.username]].append(p)
    return waves


def _hash_method() -> str:
    from flask import current_app

    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def _hash(password: str, method: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method=method)
