"""Import units, people and heads (DESIGN.md §4 organisation file) from JSON, CSV or XLSX.

Idempotent: rows are matched by unit code and username and updated. Every row is checked
before anything is written; one bad row rejects the whole file with its row number.
"""
from __future__ import annotations

import csv
import io
import json
import secrets
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Unit, User
from app.models.org import POSITION_GROUPS, is_assignable_role

from . import accounts
from .errors import Invalid

UNIT_FIELDS = ("code", "name", "parent", "is_agency")
PEOPLE_FIELDS = ("username", "full_name", "email", "unit", "position_group", "manager", "roles", "password")


def read_file(path: str | Path) -> dict:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
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
                {h: ("" if v is None else v) for h, v in zip(header, row)} for row in rows[1:] if any(row)]
        if "people" not in out and len(out) == 1:
            out = {"people": next(iter(out.values()))}
        return out
    raise Invalid(f"Không đọc được tệp {path.name}: chỉ nhận .json, .csv, .xlsx",
                  f"Cannot read {path.name}: only .json, .csv, .xlsx")


def _bool(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "x", "có", "co")


def _roles(value) -> list[str]:
    if isinstance(value, list):
        return [str(r).strip() for r in value if str(r).strip()]
    return [r for r in str(value or "").replace(",", " ").split() if r]


def import_org(payload: dict) -> dict:
    """Returns counts and the passwords generated for new people (to hand out once)."""
    if not isinstance(payload, dict):
        raise Invalid("Tệp tổ chức phải là một đối tượng JSON.", "The organisation file must be a JSON object.")
    units_in, people_in, heads_in = (payload.get(k) or [] for k in ("units", "people", "heads"))
    errors: list[dict] = []

    def err(section, row, message, message_en):
        errors.append({"field": f"{section}[{row}]", "row": row, "section": section,
                       "message": f"{section} dòng {row}: {message}", "message_en": f"{section} row {row}: {message_en}"})

    known_units = {u.code for u in db.session.scalars(select(Unit))}
    file_units = {}
    for i, row in enumerate(units_in, start=1):
        code, name = str(row.get("code") or "").strip(), str(row.get("name") or "").strip()
        if not code or not name:
            err("units", i, "thiếu mã hoặc tên đơn vị", "code and name are required")
            continue
        file_units[code] = row
    all_units = known_units | set(file_units)
    for i, row in enumerate(units_in, start=1):
        parent = str(row.get("parent") or "").strip()
        if parent and parent not in all_units:
            err("units", i, f"đơn vị cấp trên {parent!r} không tồn tại", f"parent {parent!r} does not exist")
        if parent and parent == str(row.get("code") or "").strip():
            err("units", i, "đơn vị không thể là cấp trên của chính nó", "a unit cannot be its own parent")

    known_users = {u.username for u in db.session.scalars(select(User))}
    file_people = {str(r.get("username") or "").strip() for r in people_in}
    all_users = known_users | file_people
    seen = set()
    for i, row in enumerate(people_in, start=1):
        username = str(row.get("username") or "").strip()
        if not username or not str(row.get("full_name") or "").strip():
            err("people", i, "thiếu tên đăng nhập hoặc họ tên", "username and full_name are required")
            continue
        if username in seen:
            err("people", i, f"tên đăng nhập {username!r} bị trùng", f"duplicate username {username!r}")
        seen.add(username)
        if str(row.get("unit") or "").strip() not in all_units:
            err("people", i, f"đơn vị {row.get('unit')!r} không tồn tại", f"unit {row.get('unit')!r} does not exist")
        group = str(row.get("position_group") or "staff").strip()
        if group not in POSITION_GROUPS:
            err("people", i, f"nhóm vị trí {group!r} không hợp lệ ({', '.join(POSITION_GROUPS)})",
                f"position_group {group!r} must be one of {', '.join(POSITION_GROUPS)}")
        manager = str(row.get("manager") or "").strip()
        if manager and manager not in all_users:
            err("people", i, f"lãnh đạo trực tiếp {manager!r} không tồn tại", f"manager {manager!r} does not exist")
        if manager == username:
            err("people", i, "không thể là lãnh đạo trực tiếp của chính mình", "cannot be one's own manager")
        bad_roles = [r for r in _roles(row.get("roles")) if not is_assignable_role(r)]
        if bad_roles:
            err("people", i, f"vai trò không hợp lệ: {', '.join(bad_roles)}", f"unknown roles: {', '.join(bad_roles)}")
        for problem in (accounts.password_problems(str(row["password"]), username) if row.get("password") else []):
            err("people", i, problem.rstrip("."), "the password is too weak")
    for i, row in enumerate(heads_in, start=1):
        if str(row.get("unit") or "") not in all_units:
            err("heads", i, f"đơn vị {row.get('unit')!r} không tồn tại", f"unit {row.get('unit')!r} does not exist")
        if str(row.get("username") or "") not in all_users:
            err("heads", i, f"người {row.get('username')!r} không tồn tại", f"user {row.get('username')!r} does not exist")
    if errors:
        raise Invalid(f"Tệp có {len(errors)} lỗi; chưa nhập gì.", f"{len(errors)} errors; nothing was imported.", errors)

    units = {u.code: u for u in db.session.scalars(select(Unit))}
    for code, row in file_units.items():
        unit = units.get(code) or Unit(code=code)
        unit.name, unit.is_agency = str(row["name"]).strip(), _bool(row.get("is_agency"))
        db.session.add(unit)
        units[code] = unit
    for code, row in file_units.items():
        parent = str(row.get("parent") or "").strip()
        units[code].parent = units[parent] if parent else None
    db.session.flush()

    users = {u.username: u for u in db.session.scalars(select(User))}
    passwords = {}
    for row in people_in:
        username = str(row["username"]).strip()
        user = users.get(username)
        if user is None:
            user = User(username=username)
            password = str(row.get("password") or "") or secrets.token_urlsafe(12) + "7a"
            user.set_password(password)
            passwords[username] = password
        elif row.get("password"):
            user.set_password(str(row["password"]))
        user.full_name = str(row["full_name"]).strip()
        user.email = str(row.get("email") or "").strip() or None
        user.unit = units[str(row["unit"]).strip()]
        user.position_group = str(row.get("position_group") or "staff").strip()
        user.roles = " ".join(_roles(row.get("roles")))
        db.session.add(user)
        users[username] = user
    db.session.flush()
    for row in people_in:
        manager = str(row.get("manager") or "").strip()
        users[str(row["username"]).strip()].manager = users[manager] if manager else None
    for row in heads_in:
        units[str(row["unit"])].head = users[str(row["username"])]
    cycle = _manager_cycle(users.values())
    if cycle:
        db.session.rollback()
        raise Invalid(f"Quan hệ lãnh đạo trực tiếp bị vòng lặp: {' → '.join(cycle)}",
                      f"The manager chain loops: {' → '.join(cycle)}")
    db.session.commit()
    return {"units": len(file_units), "people": len(people_in), "heads": len(heads_in), "passwords": passwords}


def _manager_cycle(users) -> list[str] | None:
    for user in users:
        chain, seen, node = [], set(), user
        while node is not None:
            if node.id in seen:
                return chain + [node.username]
            seen.add(node.id)
            chain.append(node.username)
            node = node.manager
    return None
