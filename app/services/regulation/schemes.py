"""Scoring schemes as data. A scheme version is immutable: editing makes a new version, and a
month copies the criteria of the version it opened with, so an open month never changes."""

from __future__ import annotations

import copy
import math

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Scheme, SchemeAssignment, Unit, User
from app.rules import kpi
from app.rules import schemes as defaults
from app.rules.workdays import parse_period

from app.services import audit
from app.services.errors import Invalid, NotFound

GROUP_MAX = {"I": 20, "II": 70}


def ensure_seeded() -> None:
    if db.session.scalar(select(func.count()).select_from(Scheme)):
        return
    rows = [
        Scheme(
            code=code,
            version=1,
            name=spec["name"],
            effective_from=spec["effective_from"],
            definition={"groups": spec["groups"], "criteria": spec["criteria"], "quota": spec["quota"]},
        )
        for code, spec in defaults.SCHEMES.items()
    ]
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.add_all(rows)  # SQLite has one writer: no one can seed at the same moment
        db.session.flush()
        return
    try:
        with db.session.begin_nested():  # two first openings at once: one seeds, the other reads its rows
            db.session.add_all(rows)
    except IntegrityError:
        pass


def overview() -> dict:
    """What the schemes page lists: every scheme version, the assignments, the agencies to assign to."""
    return {
        "schemes": db.session.scalars(select(Scheme).order_by(Scheme.code, Scheme.version)).all(),
        "assignments": db.session.scalars(select(SchemeAssignment).order_by(SchemeAssignment.effective_from)).all(),
        "units": db.session.scalars(select(Unit).where(Unit.is_agency.is_(True)).order_by(Unit.code)).all(),
    }


def unit_by_code(code: str) -> Unit | None:
    return db.session.scalars(select(Unit).where(Unit.code == code)).first()


def latest(code: str, period: str | None = None) -> Scheme:
    query = select(Scheme).where(Scheme.code == code)
    if period:
        query = query.where(Scheme.effective_from <= period)
    row = db.session.scalars(query.order_by(Scheme.effective_from.desc(), Scheme.version.desc()).limit(1)).first()
    if row is None and period:
        return latest(code)
    if row is None:
        raise NotFound(f"Không có khung tiêu chí {code!r}", f"No scheme {code!r}")
    return row


def for_unit(unit: Unit, period: str) -> Scheme:
    """The scheme assigned to the unit or its nearest ancestor for the period (default Hà Nội)."""
    ensure_seeded()
    ids = [u.id for u in unit.ancestors()]
    assignments = db.session.scalars(
        select(SchemeAssignment).where(SchemeAssignment.unit_id.in_(ids), SchemeAssignment.effective_from <= period)
    ).all()
    return latest(_pick(assignments, ids), period)


class ForUnits:
    """`for_unit` for many units of one period (a bulk opening): the assignments and each scheme
    version are read once, then every unit is answered from memory."""

    def __init__(self, period: str):
        ensure_seeded()
        self.period = period
        self._assignments = db.session.scalars(
            select(SchemeAssignment).where(SchemeAssignment.effective_from <= period)
        ).all()
        self._latest: dict[str, Scheme] = {}
        self._by_unit: dict[int, Scheme] = {}

    def __call__(self, unit: Unit) -> Scheme:
        found = self._by_unit.get(unit.id)
        if found is None:
            ids = [u.id for u in unit.ancestors()]
            code = _pick([a for a in self._assignments if a.unit_id in ids], ids)
            if code not in self._latest:
                self._latest[code] = latest(code, self.period)
            found = self._by_unit[unit.id] = self._latest[code]
        return found


def _pick(assignments: list[SchemeAssignment], ancestor_ids: list[int]) -> str:
    """The nearest ancestor's latest assignment (ancestor_ids: the unit first, then upwards)."""
    depth = {uid: i for i, uid in enumerate(ancestor_ids)}
    best = min(assignments, key=lambda a: (depth[a.unit_id], _neg(a.effective_from)), default=None)
    return best.scheme_code if best else defaults.DEFAULT_SCHEME


def _neg(period: str) -> tuple:
    year, month = parse_period(period)
    return (-year, -month)


def assign(unit: Unit, scheme_code: str, effective_from: str, actor: User) -> SchemeAssignment:
    parse_period(effective_from)
    latest(scheme_code)
    row = db.session.scalars(
        select(SchemeAssignment).where(
            SchemeAssignment.unit_id == unit.id, SchemeAssignment.effective_from == effective_from
        )
    ).first()
    row = row or SchemeAssignment(unit_id=unit.id, effective_from=effective_from)
    row.scheme_code = scheme_code
    db.session.add(row)
    audit.record(
        "scheme_assigned", actor=actor, details={"unit": unit.code, "scheme": scheme_code, "from": effective_from}
    )
    db.session.flush()
    return row


def edit(code: str, criteria: dict[str, list[dict]], effective_from: str, actor: User) -> Scheme:
    """A new version of scheme `code` with these sub-criteria per position group."""
    current = latest(code)
    errors = []
    try:
        parse_period(effective_from)
    except ValueError:
        errors.append(
            {
                "field": "effective_from",
                "message": "Kỳ áp dụng phải có dạng YYYY-MM.",
                "message_en": "The period must be YYYY-MM.",
            }
        )
    clean: dict[str, list[dict]] = {}
    for group_name, rows in criteria.items():
        clean[group_name] = []
        sums: dict[str, float] = {}
        for i, row in enumerate(rows):
            name = str(row.get("name") or "").strip()
            try:
                maximum = float(str(row.get("max")).replace(",", "."))
            except ValueError:
                maximum = -1
            if not math.isfinite(maximum):  # "nan", "inf", "1e999": no maximum at all
                maximum = -1
            field = f"{group_name}[{i}]"
            if not name:
                errors.append(
                    {
                        "field": f"{field}[name]",
                        "message": "Tên tiêu chí không được để trống.",
                        "message_en": "The criterion needs a name.",
                    }
                )
            if maximum <= 0 or maximum * 2 != int(maximum * 2):
                errors.append(
                    {
                        "field": f"{field}[max]",
                        "message": "Điểm tối đa phải dương, bước 0,5.",
                        "message_en": "The maximum must be positive, in steps of 0.5.",
                    }
                )
            group = str(row.get("group") or "")
            if group not in GROUP_MAX:
                errors.append(
                    {
                        "field": f"{field}[group]",
                        "message": "Nhóm phải là I hoặc II.",
                        "message_en": "The group must be I or II.",
                    }
                )
            sums[group] = sums.get(group, 0) + max(maximum, 0)
            source = _source(row.get("source"))
            if source is None:
                errors.append(
                    {
                        "field": f"{field}[source]",
                        "message": "Nguồn điểm không hợp lệ.",
                        "message_en": "Unknown source of points.",
                    }
                )
            entry = {
                "code": str(row.get("code") or f"{group}.{i + 1}"),
                "group": group,
                "name": name,
                "max": maximum if maximum % 1 else int(maximum),
            }
            if source not in (None, kpi.TYPED):
                entry["source"] = source
            clean[group_name].append(entry)
        for group, expected in GROUP_MAX.items():
            if abs(sums.get(group, 0) - expected) > 1e-9:
                errors.append(
                    {
                        "field": f"{group_name}",
                        "message": f"Tổng điểm tối đa nhóm {group} phải là {expected} "
                        f"(đang là {sums.get(group, 0):g}).",
                        "message_en": f"Group {group} maxima must add up to {expected}.",
                    }
                )
    if errors:
        raise Invalid("Khung tiêu chí chưa hợp lệ; chưa lưu.", "The scheme is not valid; nothing saved.", errors)
    definition = copy.deepcopy(current.definition)
    definition["criteria"].update(clean)
    row = Scheme(
        code=code,
        version=_next_version(code),
        name=current.name,
        effective_from=effective_from,
        definition=definition,
        created_by_id=actor.id,
    )
    db.session.add(row)
    audit.record("scheme_edited", actor=actor, details={"scheme": code, "version": row.version, "from": effective_from})
    db.session.flush()
    return row


def _source(value) -> str | list[str] | None:
    """Where a criterion's points come from (app/rules/kpi.py): one source, or a list whose mean is
    taken; missing means typed; None when not one of the known sources."""
    if value in (None, ""):
        return kpi.TYPED
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
        ok = parts and all(p in kpi.SOURCES and p != kpi.TYPED for p in parts)
        return parts if ok else None
    return str(value) if str(value) in kpi.SOURCES else None


def _next_version(code: str) -> int:
    return (db.session.scalar(select(func.max(Scheme.version)).where(Scheme.code == code)) or 0) + 1
