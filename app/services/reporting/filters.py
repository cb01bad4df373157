"""Evaluation and task lists for HR, heads and managers: filters, sorting and keyset paging (issue #5).

Lists read the projection tables only (evaluation_records, human_tasks, process_instances), never a
workflow snapshot. Paging is by keyset: the page after a row is "rows whose sort key comes after
this row's key", with the record/task id as the tie-breaker, so page 1000 costs what page 1 costs.
The cursor is an opaque token holding the last row's key. Counting is capped (COUNT_CAP), so a list
of a million rows never counts a million rows.

Bad input never reaches the database: a malformed value (period, level, sort, cursor, limit…) is a
400 with the field named; a unit the viewer may not see is a 403; a well-formed value that matches
nothing (an unknown assignee, a step no task has) is an empty page.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, case, exists, false, func, or_, select, tuple_
from sqlalchemy.orm import aliased

from app import strict_json
from app.extensions import db
from app.models import EvaluationRecord, HumanTask, ProcessInstance, SavedFilter, Unit, User
from app.rules.workdays import PERIOD_PATTERN, parse_period

from app.services.organisation import access
from app.services.errors import BadRequest, Conflict, Forbidden, NotFound
from app.labels import STATUS_LABELS
from app.models.workflow import TASK_READY

PAGE_DEFAULT, PAGE_MAX = 50, 200
COUNT_CAP = 10_000
KINDS = ("evaluations", "tasks")
PARAMS = ("unit", "period", "step", "status", "level", "overdue", "assignee", "name", "sort", "limit")
PERIOD_RE = re.compile(PERIOD_PATTERN)
# A unit code as the API takes it: 1-64 characters, no control character, no blank at either end.
# (The OpenAPI description publishes UNIT_PATTERN; anything matching it is looked up, an unknown code is a 404.)
UNIT_PATTERN = r"[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?"
UNIT_RE = re.compile(UNIT_PATTERN)
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
LEVEL_VALUES = ("A", "B", "C", "D", "none")
# Evaluation statuses beyond the record's own: groups, and the instance's run state.
STATUS_GROUPS = ("open", "done")
RUN_STATES = ("suspended", "error")
TASK_STATUSES = (TASK_READY, "completed", "cancelled")
DONE_STATUSES = ("locked", "not_evaluated")
ENDED_STATUSES = ("not_evaluated", "terminated", "locked")
MAX_SAVED = 50


def valid_period(period) -> bool:
    if not isinstance(period, str) or not PERIOD_RE.fullmatch(period):
        return False
    try:
        parse_period(period)
    except ValueError:
        return False
    return True


CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(text: str) -> bool:
    """Control characters (NUL above all: PostgreSQL refuses it in text) have no place in a filter,
    a name or a reason; a line break or a tab may stay."""
    return bool(CONTROL_RE.search(text))


def _bad(field_name: str, vi: str, en: str) -> BadRequest:
    return BadRequest(vi, en, [{"field": field_name, "message": vi, "message_en": en}])


# ------------------------------------------------------------------------------------------- units
def subtree_ids(unit_id: int) -> set[int]:
    """The unit and every unit below it, in one recursive query."""
    tree = select(Unit.id).where(Unit.id == unit_id).cte("subtree", recursive=True)
    tree = tree.union(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


def subtree_units(unit_id: int) -> list[Unit]:
    return db.session.scalars(select(Unit).where(Unit.id.in_(subtree_ids(unit_id))).order_by(Unit.code)).all()


def unit_for(code) -> Unit:
    code = code.strip() if isinstance(code, str) else code
    if not isinstance(code, str) or not UNIT_RE.fullmatch(code):
        raise _bad("unit", "Mã đơn vị không hợp lệ.", "The unit code is not valid.")
    unit = db.session.scalars(select(Unit).where(Unit.code == code)).first()
    if unit is None:  # well-formed but unknown: not found, as for every other lookup by code
        vi, en = f"Không có đơn vị mã {code!r}.", f"No unit with code {code!r}."
        raise NotFound(vi, en, [{"field": "unit", "message": vi, "message_en": en}])
    return unit


def viewable_units(viewer: User, scope: access.Scope | None = None) -> list[Unit]:
    """The units a viewer may pick in a filter: everything for administrators; else the units in
    their scope and the units of the people they see."""
    scope = scope or access.record_scope(viewer)
    if scope.everything:
        return db.session.scalars(select(Unit).order_by(Unit.code)).all()
    ids = set(scope.unit_ids) | set(scope.subject_unit_ids)
    return db.session.scalars(select(Unit).where(Unit.id.in_(ids or {-1})).order_by(Unit.code)).all()


def default_unit(viewer: User, scope: access.Scope | None = None) -> Unit | None:
    """The widest unit the viewer sees: the root for administrators, else the top of their scope,
    else their own unit (a manager or staff member, who then sees only their people or themself)."""
    scope = scope or access.record_scope(viewer)
    if scope.everything:
        return db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).first()
    if scope.unit_ids:
        units = db.session.scalars(select(Unit).where(Unit.id.in_(scope.unit_ids)).order_by(Unit.id)).all()
        roots = [u for u in units if u.parent_id not in scope.unit_ids]
        return roots[0] if roots else None
    return viewer.unit


def scoped_subtree(viewer: User, unit: Unit, scope: access.Scope) -> set[int]:
    subtree = subtree_ids(unit.id)
    if not scope.touches(subtree):
        raise Forbidden(f"Anh/chị không có quyền xem đơn vị {unit.code}.", f"You may not see unit {unit.code}.")
    return subtree


# ------------------------------------------------------------------------------------- parameters
@dataclass
class ListQuery:
    kind: str
    unit: Unit | None = None
    period: str | None = None
    step: str | None = None
    status: str | None = None
    level: str | None = None
    overdue: bool | None = None
    assignee: str | None = None
    name: str | None = None
    sort: str = ""
    cursor: list | None = None
    limit: int = PAGE_DEFAULT
    params: dict = field(default_factory=dict)  # the clean query string, for links and saved filters


def _text(args, key: str, maximum: int = 100) -> str | None:
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(key, f"Giá trị {key} không hợp lệ.", f"The value of {key} is not valid.")
    value = value.strip()
    if has_control(value):
        raise _bad(key, f"Giá trị {key} chứa ký tự điều khiển.", f"{key} contains a control character.")
    if len(value) > maximum:
        raise _bad(key, f"Giá trị {key} quá dài (tối đa {maximum} ký tự).", f"{key} is too long (max {maximum}).")
    return value or None


def parse(kind: str, args) -> ListQuery:
    """Query-string arguments (a dict or werkzeug MultiDict) -> a checked ListQuery; 400 on nonsense."""
    if kind not in KINDS:
        raise BadRequest(f"Danh sách không tồn tại: {kind!r}", f"No such list: {kind!r}")
    q = ListQuery(kind=kind)
    clean: dict[str, str] = {}
    unit = _text(args, "unit", 64)
    if unit:
        q.unit, clean["unit"] = unit_for(unit), unit
    period = _text(args, "period", 7)
    if period:
        if not valid_period(period):
            raise _bad(
                "period",
                f"Kỳ đánh giá phải có dạng YYYY-MM, nhận được {period!r}.",
                f"The period must be YYYY-MM, got {period!r}.",
            )
        q.period = clean["period"] = period
    step = _text(args, "step", 64)
    if step:
        if not IDENT_RE.match(step):
            raise _bad("step", "Tên bước không hợp lệ.", "The step is not a valid BPMN id.")
        q.step = clean["step"] = step
    status = _text(args, "status", 32)
    if status:
        allowed_task = kind == "tasks" and status in TASK_STATUSES
        if kind == "tasks" and not allowed_task:
            raise _bad(
                "status",
                f"Trạng thái việc phải là một trong {', '.join(TASK_STATUSES)}.",
                f"A task status is one of {', '.join(TASK_STATUSES)}.",
            )
        if kind == "evaluations" and not IDENT_RE.match(status):
            raise _bad("status", "Trạng thái không hợp lệ.", "The status is not valid.")
        q.status = clean["status"] = status
    level = _text(args, "level", 8)
    if level:
        if level not in LEVEL_VALUES:
            raise _bad("level", "Xếp loại phải là A, B, C, D hoặc none.", "The level is A, B, C, D or none.")
        q.level = clean["level"] = level
    overdue = _text(args, "overdue", 8)
    if overdue:
        if overdue.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise _bad("overdue", "overdue phải là 1 hoặc 0.", "overdue is 1 or 0.")
        q.overdue = overdue.lower() in ("1", "true", "yes")
        clean["overdue"] = "1" if q.overdue else "0"
    assignee = _text(args, "assignee", 64)
    if assignee:
        q.assignee = clean["assignee"] = assignee
    name = _text(args, "name", 100)
    if name:
        q.name = clean["name"] = name
    sorts = EVALUATION_SORTS if kind == "evaluations" else TASK_SORTS
    sort = _text(args, "sort", 16) or DEFAULT_SORT[kind]
    if sort.lstrip("-") not in sorts:
        raise _bad(
            "sort",
            f"Không sắp xếp được theo {sort!r}; chọn một trong: {', '.join(sorts)} (thêm dấu - để giảm dần).",
            f"Cannot sort by {sort!r}; use one of {', '.join(sorts)} (prefix - for descending).",
        )
    q.sort = sort
    if sort != DEFAULT_SORT[kind]:
        clean["sort"] = sort
    limit = _text(args, "limit", 4)
    if limit:
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= PAGE_MAX:
            raise _bad("limit", f"limit phải từ 1 đến {PAGE_MAX}.", f"limit is 1 to {PAGE_MAX}.")
        q.limit = int(limit)
        if q.limit != PAGE_DEFAULT:
            clean["limit"] = limit
    cursor = _text(args, "cursor", 500)
    if cursor:
        q.cursor = _decode_cursor(cursor, sort_keys(kind, sort))
    q.params = clean
    return q


# --------------------------------------------------------------------------------------- sorting
Subject = aliased(User, name="subject_user")
Holder = aliased(User, name="holder_user")


@dataclass(frozen=True)
class Key:
    column: object
    kind: str  # str | num | int | dt
    nullable: bool = False
    needs: str | None = None  # the table the key lives in besides the main one: subject | unit


def _name_key() -> Key:
    return Key(Subject.full_name, "str", needs="subject")


def _unit_key() -> Key:
    return Key(Unit.code, "str", needs="unit")


EVALUATION_SORTS = {
    "name": lambda: [_name_key(), Key(EvaluationRecord.id, "int")],
    "unit": lambda: [_unit_key(), _name_key(), Key(EvaluationRecord.id, "int")],
    "status": lambda: [Key(EvaluationRecord.status, "str"), _name_key(), Key(EvaluationRecord.id, "int")],
    "total": lambda: [Key(EvaluationRecord.total, "num", True), Key(EvaluationRecord.id, "int")],
    "period": lambda: [Key(EvaluationRecord.period, "str"), _name_key(), Key(EvaluationRecord.id, "int")],
    "updated": lambda: [Key(EvaluationRecord.updated_at, "dt"), Key(EvaluationRecord.id, "int")],
}
TASK_SORTS = {
    "due": lambda: [Key(HumanTask.due_at, "dt", True), Key(HumanTask.id, "int")],
    "name": lambda: [_name_key(), Key(HumanTask.id, "int")],
    "step": lambda: [Key(HumanTask.step, "str"), Key(HumanTask.due_at, "dt", True), Key(HumanTask.id, "int")],
    "unit": lambda: [_unit_key(), _name_key(), Key(HumanTask.id, "int")],
    "created": lambda: [Key(HumanTask.created_at, "dt"), Key(HumanTask.id, "int")],
}
DEFAULT_SORT = {"evaluations": "name", "tasks": "due"}


def sort_keys(kind: str, sort: str) -> list[Key]:
    table = EVALUATION_SORTS if kind == "evaluations" else TASK_SORTS
    return table[sort.lstrip("-")]()


def _order(keys: list[Key], desc: bool) -> list:
    out = []
    for k in keys:
        col = k.column.desc() if desc else k.column.asc()
        out.append(col.nulls_last() if k.nullable else col)
    return out


def _after(keys: list[Key], values: list, desc: bool):
    """Rows strictly after `values` in the order of `_order(keys, desc)` (NULLs last).

    With non-null keys this is a row comparison; the redundant bound on the first key alone lets
    PostgreSQL start an index range scan there (it does not derive it from a row comparison whose
    columns come from two tables, e.g. the subject's name and the record id), so page 1000 costs
    what page 1 costs."""
    if not any(k.nullable for k in keys):
        left, right = tuple_(*[k.column for k in keys]), tuple_(*values)
        first = keys[0].column <= values[0] if desc else keys[0].column >= values[0]
        return and_(first, left < right if desc else left > right)
    ors, prefix = [], []
    for k, v in zip(keys, values):
        if v is None:
            beyond, same = false(), k.column.is_(None)
        else:
            beyond = k.column < v if desc else k.column > v
            if k.nullable:
                beyond = or_(beyond, k.column.is_(None))
            same = k.column == v
        ors.append(and_(*prefix, beyond))
        prefix.append(same)
    return or_(*ors)


def _encode_cursor(values: list) -> str:
    plain = [v.astimezone(timezone.utc).isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSOR_INT_MAX = 2**31 - 1  # the ids and counts a list is sorted by are integer columns


def _decode_cursor(token: str, keys: list[Key]) -> list:
    bad = _bad(
        "cursor",
        "Con trỏ trang không hợp lệ; hãy quay về trang đầu.",
        "The page cursor is not valid; go back to the first page.",
    )
    try:
        values = strict_json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad
    if not isinstance(values, list) or len(values) != len(keys):
        raise bad
    out = []
    for k, v in zip(keys, values):
        if v is None:
            if not k.nullable:
                raise bad
            out.append(None)
        elif k.kind == "str" and isinstance(v, str) and not has_control(v):
            out.append(v)
        # a forged cursor's values reach the query: an integer past the columns' range (2**63 was an
        # overflow on both databases) or an instant that leaves the calendar once in UTC is no cursor
        elif k.kind == "int" and isinstance(v, int) and not isinstance(v, bool) and abs(v) <= CURSOR_INT_MAX:
            out.append(v)
        elif (
            k.kind == "num"
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and (isinstance(v, float) or abs(v) <= 2**53)
        ):
            out.append(v)
        elif k.kind == "dt" and isinstance(v, str):
            try:
                dt = datetime.fromisoformat(v)
                if dt.tzinfo is None or not 1 < dt.astimezone(timezone.utc).year < 9999:
                    raise bad
            except (ValueError, OverflowError):
                raise bad
            out.append(dt)
        else:
            raise bad
    return out


# ----------------------------------------------------------------------------------------- queries
@dataclass
class Page:
    items: list[dict]
    next_cursor: str | None
    total: int
    total_capped: bool
    query: ListQuery


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _name_filter(name: str):
    """Part of the full name (case-insensitive; a trigram index serves it on PostgreSQL), or the
    exact username."""
    return or_(func.lower(Subject.full_name).like(func.lower(_like(name)), escape="\\"), Subject.username == name)


def _assignee_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username)) or -1


def _scope_clause(viewer: User, q: ListQuery, unit_col, subject_col):
    scope = access.record_scope(viewer)
    if scope.is_empty:
        raise Forbidden("Anh/chị không có quyền xem danh sách này.", "You may not see this list.")
    subtree = scoped_subtree(viewer, q.unit, scope) if q.unit is not None else None
    if scope.everything and subtree is not None and is_whole_tree(q.unit):
        subtree = None  # the root of everything: no unit condition at all
    return scope.clause(unit_col, subject_col, subtree)


def is_whole_tree(unit: Unit) -> bool:
    """Whether `unit` is the only root, so its subtree is every unit."""
    if unit.parent_id is not None:
        return False
    return db.session.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id.is_(None))) == 1


@dataclass
class Filtered:
    """The WHERE conditions of a list and the tables they need besides the main one, so that the
    count joins only what filtering needs and the page query joins what it shows."""

    conditions: list
    needs: set[str]


def _evaluation_filters(viewer: User, q: ListQuery, now: datetime) -> Filtered:
    R = EvaluationRecord
    conds, needs = [_scope_clause(viewer, q, R.unit_id, R.subject_id)], set()
    if q.period:
        conds.append(R.period == q.period)
    ready = select(HumanTask.id).where(HumanTask.instance_id == R.instance_id, HumanTask.status == TASK_READY)
    if q.status == "open":
        conds += [R.published_at.is_(None), R.status.not_in(ENDED_STATUSES)]
    elif q.status == "done":
        conds.append(or_(R.published_at.is_not(None), R.status.in_(DONE_STATUSES)))
    elif q.status in RUN_STATES:
        conds.append(ProcessInstance.status == q.status)
        needs.add("instance")
    elif q.status:
        conds.append(R.status == q.status)
    if q.step:
        conds.append(exists(ready.where(HumanTask.step == q.step)))
    if q.level == "none":
        conds.append(R.published_at.is_(None))
    elif q.level:
        conds += [R.level == q.level, R.published_at.is_not(None)]
    if q.overdue is not None:
        late = exists(ready.where(HumanTask.due_at < now))
        conds.append(late if q.overdue else ~late)
    if q.assignee:
        conds.append(exists(ready.where(HumanTask.assignee_id == _assignee_id(q.assignee))))
    if q.name:
        conds.append(_name_filter(q.name))
        needs.add("subject")
    return Filtered(conds, needs)


def _task_filters(viewer: User, q: ListQuery, now: datetime) -> Filtered:
    T = HumanTask
    conds, needs = [_scope_clause(viewer, q, T.unit_id, T.subject_id)], set()
    if q.period:
        conds.append(T.period == q.period)
    if q.status:
        conds.append(T.status == q.status)
    if q.step:
        conds.append(T.step == q.step)
    if q.overdue is True:
        conds += [T.status == TASK_READY, T.due_at < now]
    elif q.overdue is False:
        conds.append(or_(T.status != TASK_READY, T.due_at.is_(None), T.due_at >= now))
    if q.assignee:
        conds.append(T.assignee_id == _assignee_id(q.assignee))
    if q.level:
        R = EvaluationRecord
        rec = select(R.id).where(R.instance_id == T.instance_id)
        rec = (
            rec.where(R.published_at.is_(None))
            if q.level == "none"
            else rec.where(R.level == q.level, R.published_at.is_not(None))
        )
        conds.append(exists(rec))
    if q.name:
        conds.append(_name_filter(q.name))
        needs.add("subject")
    return Filtered(conds, needs)


def _join(query, kind: str, needs: set[str]):
    """Join to the main table (records or tasks) only the tables `needs` names."""
    main = EvaluationRecord if kind == "evaluations" else HumanTask
    if "subject" in needs:
        query = query.join(Subject, Subject.id == main.subject_id)
    if "unit" in needs:
        query = query.join(Unit, Unit.id == main.unit_id)
    if "instance" in needs and kind == "evaluations":
        query = query.join(ProcessInstance, ProcessInstance.id == EvaluationRecord.instance_id)
    return query


def _display(kind: str):
    """What a page shows per row, for the few ids of the page only."""
    if kind == "evaluations":
        R = EvaluationRecord
        return (
            select(
                R,
                Subject.full_name,
                Subject.username,
                Unit.code.label("unit_code"),
                Unit.name.label("unit_name"),
                ProcessInstance.status.label("run_status"),
                ProcessInstance.error.label("run_error"),
            )
            .join(Subject, Subject.id == R.subject_id)
            .join(Unit, Unit.id == R.unit_id)
            .join(ProcessInstance, ProcessInstance.id == R.instance_id)
        )
    T = HumanTask
    return (
        select(
            T,
            Subject.full_name,
            Subject.username,
            Unit.code.label("unit_code"),
            Unit.name.label("unit_name"),
            Holder.full_name.label("holder_name"),
            Holder.username.label("holder_username"),
        )
        .join(Subject, Subject.id == T.subject_id)
        .join(Unit, Unit.id == T.unit_id)
        .outerjoin(Holder, Holder.id == T.assignee_id)
    )


def _page(kind: str, f: Filtered, q: ListQuery) -> tuple[list, str | None, int, bool]:
    """One page after the cursor, in two steps: the ids and sort keys of the page from the main
    table and only the tables that filtering and sorting need, then the columns to show for those
    ids. The count comes first (capped) and chooses the plan of the first step: a large result is
    read in sort order along an index until the page is full; a small one (at most COUNT_CAP rows,
    e.g. one agency's month) is filtered first behind an optimisation fence (OFFSET 0: PostgreSQL
    plans the subquery on its own) and then sorted, so that a selective filter never walks a big
    index hoping to meet its few rows early."""
    main = EvaluationRecord if kind == "evaluations" else HumanTask
    desc = q.sort.startswith("-")
    keys = sort_keys(kind, q.sort)
    count = _join(select(main.id), kind, f.needs).where(*f.conditions)
    total = db.session.scalar(select(func.count()).select_from(count.limit(COUNT_CAP + 1).subquery())) or 0
    needs = f.needs | {k.needs for k in keys if k.needs}
    core = _join(
        select(main.id.label("rid"), *[k.column.label(f"sortkey{i}") for i, k in enumerate(keys)]), kind, needs
    ).where(*f.conditions)
    if q.cursor is not None:
        core = core.where(_after(keys, q.cursor, desc))
    if total <= COUNT_CAP:
        fenced = core.offset(0).subquery("candidates")
        inner = [Key(fenced.c[f"sortkey{i}"], k.kind, k.nullable) for i, k in enumerate(keys)]
        core = select(fenced).order_by(*_order(inner, desc))
    else:
        core = core.order_by(*_order(keys, desc))
    top = core.limit(q.limit + 1).subquery("page")
    outer = [Key(top.c[f"sortkey{i}"], k.kind, k.nullable) for i, k in enumerate(keys)]
    rows = db.session.execute(
        _display(kind)
        .add_columns(*[k.column for k in outer])
        .join(top, top.c.rid == main.id)
        .order_by(*_order(outer, desc))
    ).all()
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    cursor = _encode_cursor([getattr(rows[-1], f"sortkey{i}") for i in range(len(keys))]) if more and rows else None
    return rows, cursor, min(total, COUNT_CAP), total > COUNT_CAP


def evaluations(viewer: User, q: ListQuery, now: datetime | None = None) -> Page:
    now = now or datetime.now(timezone.utc)
    rows, cursor, total, capped = _page("evaluations", _evaluation_filters(viewer, q, now), q)
    ids = [row[0].instance_id for row in rows]
    waiting: dict[int, list[dict]] = {}
    if ids:
        for t, holder, holder_username in db.session.execute(
            select(HumanTask, Holder.full_name, Holder.username)
            .outerjoin(Holder, Holder.id == HumanTask.assignee_id)
            .where(HumanTask.instance_id.in_(ids), HumanTask.status == TASK_READY)
            .order_by(HumanTask.id)
        ):
            waiting.setdefault(t.instance_id, []).append(
                {
                    "task_id": t.id,
                    "step": t.step,
                    "title": t.title,
                    "assignee": holder_username,
                    "assignee_name": holder,
                    "due_at": t.due_at,
                    "overdue": bool(t.due_at and t.due_at < now),
                }
            )
    items = []
    for row in rows:
        r = row[0]
        items.append(
            {
                "instance_id": r.instance_id,
                "username": row.username,
                "full_name": row.full_name,
                "unit": row.unit_code,
                "unit_name": row.unit_name,
                "period": r.period,
                "status": r.status,
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "run_status": row.run_status,
                "self_total": r.self_total,
                "total": r.total,
                "proposed_level": r.proposed_level,
                "level": r.level if r.published_at else None,
                "published_at": r.published_at,
                "appealed": r.appealed,
                "waiting": waiting.get(r.instance_id, []),
                "overdue": any(w["overdue"] for w in waiting.get(r.instance_id, [])),
            }
        )
    return Page(items, cursor, total, capped, q)


def level_counts(viewer: User, q: ListQuery, now: datetime | None = None) -> dict | None:
    """How many of the filtered evaluations were published at each level (and how many not yet): what
    the monthly report said, for a list narrowed to one month. None for a list across months."""
    if q.kind != "evaluations" or not q.period:
        return None
    R = EvaluationRecord
    f = _evaluation_filters(viewer, q, now or datetime.now(timezone.utc))
    final = case((R.published_at.is_(None), None), else_=R.level).label("final")
    rows = db.session.execute(
        _join(select(final, func.count()), "evaluations", f.needs).where(*f.conditions).group_by(final)
    ).all()
    counts = {"A": 0, "B": 0, "C": 0, "D": 0, "none": 0}
    for level, n in rows:
        counts[level if level in counts else "none"] += n
    return counts


def tasks(viewer: User, q: ListQuery, now: datetime | None = None) -> Page:
    now = now or datetime.now(timezone.utc)
    rows, cursor, total, capped = _page("tasks", _task_filters(viewer, q, now), q)
    items = []
    for row in rows:
        t = row[0]
        items.append(
            {
                "id": t.id,
                "instance_id": t.instance_id,
                "step": t.step,
                "title": t.title,
                "status": t.status,
                "username": row.username,
                "full_name": row.full_name,
                "unit": row.unit_code,
                "unit_name": row.unit_name,
                "period": t.period,
                "assignee": row.holder_username,
                "assignee_name": row.holder_name,
                "due_at": t.due_at,
                "created_at": t.created_at,
                "completed_at": t.completed_at,
                "overdue": bool(t.status == TASK_READY and t.due_at and t.due_at < now),
            }
        )
    return Page(items, cursor, total, capped, q)


def run(viewer: User, kind: str, args, now: datetime | None = None) -> Page:
    q = parse(kind, args)
    return evaluations(viewer, q, now) if kind == "evaluations" else tasks(viewer, q, now)


# ---------------------------------------------------------------------------------- saved filters
def saved(user: User, kind: str | None = None) -> list[SavedFilter]:
    query = select(SavedFilter).where(SavedFilter.user_id == user.id)
    if kind:
        query = query.where(SavedFilter.kind == kind)
    return db.session.scalars(query.order_by(SavedFilter.kind, SavedFilter.name)).all()


def save_filter(user: User, kind: str, name, args) -> SavedFilter:
    """Save (or replace, under the same name) the current filters of a list; the values are checked
    like a query, and the page cursor is never saved."""
    q = parse(kind, {k: v for k, v in dict(args).items() if k in PARAMS})
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 100 or has_control(name):
        raise _bad("name", "Tên bộ lọc cần từ 1 đến 100 ký tự.", "A filter name has 1 to 100 characters.")
    row = db.session.scalars(
        select(SavedFilter).where(SavedFilter.user_id == user.id, SavedFilter.kind == kind, SavedFilter.name == name)
    ).first()
    if row is None:
        count = db.session.scalar(select(func.count()).select_from(SavedFilter).where(SavedFilter.user_id == user.id))
        if count >= MAX_SAVED:
            raise Conflict(
                f"Mỗi người lưu tối đa {MAX_SAVED} bộ lọc; hãy xóa bớt.",
                f"At most {MAX_SAVED} saved filters per person; delete some.",
            )
        row = SavedFilter(user_id=user.id, kind=kind, name=name, params=q.params)
        db.session.add(row)
    else:
        row.params = q.params
    db.session.flush()
    return row


def delete_filter(user: User, filter_id: int) -> None:
    row = db.session.get(SavedFilter, filter_id)
    if row is None or row.user_id != user.id:  # someone else's filter is as good as missing
        raise NotFound("Không tìm thấy bộ lọc.", "No such saved filter.")
    db.session.delete(row)
    db.session.flush()
