"""The dashboard of a unit subtree and month (issue #5): where every evaluation stands, who is late,
completion by sub-unit, the levels, and the last 12 months.

Four aggregate queries over the projection tables (evaluation_records, human_tasks,
process_instances), all filtered by period and the viewer's scope and served by the
`(unit_id, period, status)` indexes; no workflow is ever deserialized here. The whole city (200,000
people, a year of 2.4 million records) reads the monthly summaries instead (services/reporting/summary.py) and the
worker's recent count of its overdue tasks (`refresh_city_overdue`): docs/operations.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, delete, func, literal, select, text

from app import localtime
from app.extensions import db
from app.i18n import N_, translate_in
from app.models import EvaluationRecord, HumanTask, PlanItem, ProcessInstance, Unit, User
from app.rules.levels import LEVELS
from app.rules.workdays import parse_period, previous_period

from app.services.organisation import access
from . import filters, summary
from app.services.evaluation import steps as process_steps
from app.services.errors import BadRequest, Forbidden
from app.labels import STATUS_LABELS
from app.models.workflow import TASK_READY

# The shipped process in order; steps a designer adds appear after these under their own ids.
FUNNEL = ("self_evaluation", "review", "decision", "published", "appeal", "locked")
ENDED = ("not_evaluated", "terminated")
# Short labels for the funnel chart (the table beside it keeps the full status names).
# Vietnamese here (the API returns them as they are); the pages show them through the catalog.
FUNNEL_SHORT = {
    "self_evaluation": N_("Tự đánh giá"),
    "review": N_("Lãnh đạo chấm điểm"),
    "decision": N_("Chờ quyết định"),
    "published": N_("Đã công bố"),
    "appeal": N_("Kiến nghị"),
    "locked": N_("Đã chốt"),
    "not_evaluated": N_("Không đánh giá"),
    "terminated": N_("Đã hủy"),
}
NO_HOLDER = N_("Chưa có người xử lý")
# Holders listed per overdue step: the city's month can have 100,000 late self-evaluations, each with
# its own holder; the page names those with the most and counts the rest.
TOP_HOLDERS = 20


def last_periods(period: str, n: int = 12) -> list[str]:
    year, month = parse_period(period)
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(out))


def check_period(period) -> str:
    if not filters.valid_period(period):
        raise BadRequest(
            f"Kỳ đánh giá phải có dạng YYYY-MM (ví dụ 2026-10), nhận được: {period!r}",
            f"The period must be YYYY-MM (e.g. 2026-10), got {period!r}",
            [{"field": "period", "message": "YYYY-MM", "message_en": "YYYY-MM"}],
        )
    return period


def latest_period(clause) -> str | None:
    return db.session.scalar(select(func.max(EvaluationRecord.period)).where(clause))


def build(viewer: User, unit_code: str | None = None, period: str | None = None, now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    scope = access.record_scope(viewer)
    if scope.is_empty:
        raise Forbidden("Anh/chị không có quyền xem tổng quan.", "You may not see the dashboard.")
    unit = filters.unit_for(unit_code) if unit_code else filters.default_unit(viewer, scope)
    if unit is None:
        raise Forbidden("Anh/chị chưa thuộc đơn vị nào.", "You belong to no unit.")
    if scope.everything and filters.is_whole_tree(unit):
        subtree, within = set(), None  # the city: no unit filter, no list of its 3,000 units
    else:
        subtree = within = filters.scoped_subtree(viewer, unit, scope)
    # the city's figures come grouped by the root's child each unit lies under, straight from SQL:
    # a few rows per child instead of a few per unit (and 3,000 units walked up their tree in Python)
    tops = _tops(unit.id) if within is None else None
    if tops is not None and db.engine.dialect.name == "postgresql":
        # PostgreSQL guesses a recursive CTE at 100 times its rows, which prices these small queries past
        # jit_above_cost: compiling them took longer (35 ms) than running them. For this transaction only.
        db.session.execute(text("SET LOCAL jit = off"))
    R, T = EvaluationRecord, HumanTask
    rec_scope = scope.clause(R.unit_id, R.subject_id, within)
    period = (
        check_period(period) if period else (latest_period(rec_scope) or previous_period(localtime.local(now).date()))
    )

    # 1. records of the month by unit, status, level and publication -------------------------------
    published = case((R.published_at.is_(None), 0), else_=1)
    if within is None:
        rows = summary.month_rows(period, tops, unit.id)  # the whole city: the summary by child unit
    else:
        rows = db.session.execute(
            select(R.unit_id, R.status, R.level, published.label("pub"), func.count().label("n"))
            .where(R.period == period, rec_scope)
            .group_by(R.unit_id, R.status, R.level, published)
        ).all()

    # 2. overdue ready tasks: by step and unit; per step the holders with the most -----------------
    cached = overdue_snapshot(period, now) if within is None else None
    if cached is not None:
        late, top_holders = cached  # the whole city: what the worker counted less than a minute ago
    else:
        late, top_holders = overdue_rows(
            period, now, scope.clause(T.unit_id, T.subject_id, within), (tops, unit.id) if tops is not None else None
        )

    # 3. instances that need HR: suspended or stopped by an engine error ---------------------------
    P = ProcessInstance
    run_states = dict(
        db.session.execute(
            select(P.status, func.count())
            .where(
                P.period == period, P.status.in_(("suspended", "error")), scope.clause(P.unit_id, P.subject_id, within)
            )
            .group_by(P.status)
        ).all()
    )

    # 3b. the registered work done, by unit (the share of the plans' weight done) ----------------------
    I = PlanItem
    plan_unit = R.unit_id if tops is None else func.coalesce(tops.c.top, unit.id)
    plans = (
        select(
            plan_unit.label("unit_id"),
            func.sum(I.weight).label("weight"),
            func.sum(case((I.done.is_(True), I.weight), else_=0.0)).label("done"),
        )
        .select_from(R)
        .join(I, I.instance_id == R.instance_id)
    )
    if tops is not None:
        plans = plans.outerjoin(tops, tops.c.id == R.unit_id)
    plan_rows = db.session.execute(plans.where(R.period == period, I.weight > 0, rec_scope).group_by(plan_unit)).all()

    # 4. the last 12 months -----------------------------------------------------------------------
    periods = last_periods(period)
    if within is None:
        # the whole city: the monthly summary (a few dozen rows) instead of a year of records
        trend_rows = summary.trend_rows(periods, ENDED)
    else:
        trend_rows = trend_from_records(periods, rec_scope)

    if within is None:
        # the city: the rows above are keyed by the root's children already; only those are read
        children = db.session.execute(
            select(Unit.id, Unit.code, Unit.name).where(Unit.parent_id == unit.id).order_by(Unit.code)
        ).all()
        top = {c.id: c.id for c in children}
    else:
        units = {u.id: u for u in filters.subtree_units(unit.id)}
        children = sorted((u for u in units.values() if u.parent_id == unit.id), key=lambda u: u.code)
        top = _top_child(units, unit, {c.id for c in children})

    funnel: dict[str, int] = {}
    levels = {lv: 0 for lv in LEVELS} | {"none": 0}
    by_child: dict[int, dict] = {}
    total = done = 0
    for row in rows:
        funnel[row.status] = funnel.get(row.status, 0) + row.n
        if row.status == "terminated":
            continue
        key = top.get(row.unit_id, unit.id)
        child = by_child[key] if key in by_child else by_child.setdefault(key, _child_counts())
        child["total"] += row.n
        total += row.n
        finished = row.pub == 1 or row.status in filters.DONE_STATUSES
        if finished:
            child["done"] += row.n
            done += row.n
        if row.status == "not_evaluated":
            child["not_evaluated"] += row.n
            continue
        if row.pub == 1 and row.level in LEVELS:
            levels[row.level] += row.n
            child["levels"][row.level] += row.n
        else:
            levels["none"] += row.n

    for r in plan_rows:
        key = top.get(r.unit_id, unit.id)
        child = by_child[key] if key in by_child else by_child.setdefault(key, _child_counts())
        child["plan_weight"] += float(r.weight or 0)
        child["plan_done"] += float(r.done or 0)

    overdue_by_step: dict[str, dict] = {}
    known = process_steps.known()
    for r in late:
        title = known[r.step].title if r.step in known else r.title
        step = overdue_by_step.setdefault(
            r.step, {"step": r.step, "title": title, "count": 0, "holders": [], "more_holders": 0}
        )
        step["count"] += r.n
        key = top.get(r.unit_id, unit.id)
        (by_child[key] if key in by_child else by_child.setdefault(key, _child_counts()))["overdue"] += r.n
    for r in top_holders:
        step = overdue_by_step[r.step]
        step["holders"].append(
            {"username": r.username, "full_name": r.full_name or NO_HOLDER, "count": r.n, "oldest_due": r.oldest}
        )
        step["more_holders"] = max(0, r.holders - TOP_HOLDERS)
    overdue = []
    for step_id in _ordered_steps(overdue_by_step, known):
        step = overdue_by_step[step_id]
        step["holders"].sort(key=lambda h: (-h["count"], h["full_name"]))
        overdue.append(step)

    completion = []
    for u in [unit] + children:
        counts = by_child.get(u.id)
        if counts is None or (u.id == unit.id and not counts["total"]):
            if u.id == unit.id:
                continue
            counts = _child_counts()
        completion.append(
            {
                "unit": u.code,
                "unit_name": u.name,
                "name": u.name if u.id != unit.id else f"{u.name} (trực thuộc trực tiếp)",
                "direct": u.id == unit.id,
                **counts,
                "percent": round(100 * counts["done"] / counts["total"]) if counts["total"] else None,
                "plan_percent": (
                    round(100 * counts["plan_done"] / counts["plan_weight"]) if counts["plan_weight"] else None
                ),
            }
        )

    trend = {
        p: {
            "period": p,
            "evaluated": 0,
            "published": 0,
            "levels": {lv: 0 for lv in LEVELS},
            "_sum": 0.0,
            "_n": 0,
            "mean": None,
        }
        for p in periods
    }
    for r in trend_rows:
        t = trend[r.period]
        t["evaluated"] += r.n
        if r.pub == 1:
            t["published"] += r.n
            if r.level in LEVELS:
                t["levels"][r.level] += r.n
            if r.n_total:  # some record of the group has a total
                t["_sum"] += float(r.sum_total)
                t["_n"] += r.n
    for t in trend.values():
        s, n = t.pop("_sum"), t.pop("_n")
        t["mean"] = round(s / n, 2) if n else None

    funnel_rows = [{"status": s, "label": STATUS_LABELS.get(s, s), "count": funnel.get(s, 0)} for s in FUNNEL]
    funnel_rows += [
        {"status": s, "label": STATUS_LABELS.get(s, s), "count": n}
        for s, n in sorted(funnel.items())
        if s not in FUNNEL
    ]
    overdue_total = sum(s["count"] for s in overdue)
    return {
        "unit": {"code": unit.code, "name": unit.name},
        "period": period,
        "scope": "all" if scope.everything else ("units" if scope.unit_ids & subtree else "people"),
        "generated_at": now,
        "summary": {
            "total": total,
            "done": done,
            "open": total - done,
            "overdue": overdue_total,
            "percent": round(100 * done / total) if total else None,
            "suspended": run_states.get("suspended", 0),
            "error": run_states.get("error", 0),
        },
        "funnel": funnel_rows,
        "overdue": overdue,
        "completion": completion,
        "levels": levels,
        "trend": [trend[p] for p in periods],
    }


def overdue_rows(period: str, now: datetime, clause, by_top=None) -> tuple[list, list]:
    """Ready tasks of the month past their due time: counts by (step, unit), and per step the
    TOP_HOLDERS holders with the most (with how many holders there are). `by_top` = (`_tops(root)`,
    root id): counted by the root's child each unit lies under instead (the root for its own people)."""
    T = HumanTask
    is_late = and_(T.period == period, T.status == TASK_READY, T.due_at < now, clause)
    unit_key = T.unit_id if by_top is None else func.coalesce(by_top[0].c.top, by_top[1])
    counted = select(T.step, unit_key.label("unit_id"), func.count().label("n"), func.min(T.title).label("title"))
    if by_top is not None:
        counted = counted.outerjoin(by_top[0], by_top[0].c.id == T.unit_id)
    late = db.session.execute(counted.where(is_late).group_by(T.step, unit_key)).all()
    # One query per late step, each a top-N over its holders: no sort of every holder of the city (a
    # month's self-evaluations have one holder per person), and the names joined for those N only.
    top_holders = []
    for late_step in sorted({r.step for r in late}):
        per_holder = (
            select(
                T.assignee_id,
                func.count().label("n"),
                func.min(T.due_at).label("oldest"),
                func.count().over().label("holders"),
            )
            .where(is_late, T.step == late_step)
            .group_by(T.assignee_id)
            .order_by(func.count().desc(), T.assignee_id)
            .limit(TOP_HOLDERS)
            .subquery()
        )
        top_holders += db.session.execute(
            select(literal(late_step).label("step"), per_holder, User.username, User.full_name).outerjoin(
                User, User.id == per_holder.c.assignee_id
            )
        ).all()
    return late, top_holders


# How old the worker's count of the city's overdue tasks may be for the city dashboard to show it.
SNAPSHOT_MAX_AGE = timedelta(minutes=2)
_OVERDUE_LOCK = 0x5EC0_2D12  # one worker counts at a time (transaction-scoped: safe behind PgBouncer)


def overdue_snapshot(period: str, now: datetime) -> tuple[list, list] | None:
    """The city's overdue tasks as the worker last counted them (`refresh_city_overdue`), when that
    count is recent for `now`; None otherwise (the caller counts live)."""
    from types import SimpleNamespace

    from app.models import OverdueSnapshot

    snap = db.session.get(OverdueSnapshot, period)
    if snap is None or any("top" not in r for r in snap.late):
        return None  # none, or counted by unit by an older worker: the caller counts live
    at = snap.computed_at if snap.computed_at.tzinfo else snap.computed_at.replace(tzinfo=timezone.utc)
    if not (timedelta(0) <= now - at <= SNAPSHOT_MAX_AGE):
        return None
    late = [SimpleNamespace(step=r["step"], unit_id=r["top"], n=r["n"], title=r["title"]) for r in snap.late]
    holders = [
        SimpleNamespace(**{**r, "oldest": datetime.fromisoformat(r["oldest"]) if r["oldest"] else None})
        for r in snap.holders
    ]
    return late, holders


def refresh_city_overdue(now: datetime | None = None) -> int:
    """The worker's job: count the city's overdue tasks for every month still open and keep the
    result for the city dashboard (a city month right after a deadline has ~200,000 late tasks;
    counting them takes longer than the page may). Returns the number of months counted."""
    from sqlalchemy import true

    from app.models import OverdueSnapshot, RecordSummary

    now = now or datetime.now(timezone.utc)
    roots = db.session.scalars(select(Unit.id).where(Unit.parent_id.is_(None)).limit(2)).all()
    if len(roots) != 1:
        return 0  # no single root: no city dashboard to count for
    if db.engine.dialect.name == "postgresql" and not db.session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _OVERDUE_LOCK}
    ):
        return 0  # another worker is counting right now
    periods = db.session.scalars(
        select(RecordSummary.period)
        .where(RecordSummary.status.not_in(("locked",) + ENDED), RecordSummary.n > 0)
        .distinct()
    ).all()
    for period in periods:
        late, holders = overdue_rows(period, now, true(), (_tops(roots[0]), roots[0]))
        snap = db.session.get(OverdueSnapshot, period) or OverdueSnapshot(period=period)
        snap.computed_at = now
        # by the root's child unit (what the city dashboard shows), not by each of 3,000 units
        snap.late = [{"step": r.step, "top": r.unit_id, "n": r.n, "title": r.title} for r in late]
        snap.holders = [
            {
                "step": r.step,
                "assignee_id": r.assignee_id,
                "n": r.n,
                "holders": r.holders,
                "oldest": r.oldest.isoformat() if r.oldest else None,
                "username": r.username,
                "full_name": r.full_name,
            }
            for r in holders
        ]
        db.session.add(snap)
    db.session.execute(delete(OverdueSnapshot).where(OverdueSnapshot.period.not_in(periods or [""])))
    return len(periods)


def trend_from_records(periods: list[str], rec_scope):
    """The 12-month trend counted from the records themselves (any unit subtree or scope)."""
    R = EvaluationRecord
    published = case((R.published_at.is_(None), 0), else_=1)
    return db.session.execute(
        select(
            R.period,
            R.level,
            published.label("pub"),
            func.count().label("n"),
            func.count(R.total).label("n_total"),
            func.sum(R.total).label("sum_total"),
        )
        .where(R.period.in_(periods), R.status.not_in(ENDED), rec_scope)
        .group_by(R.period, R.level, published)
    ).all()


def chart_data(board: dict, lang: str = "vi") -> dict:
    """What dashboard.js draws: labels and numbers, and the texts of the axes and legends, all in
    the page's language (the script has no texts of its own)."""

    def tr(text: str, **params) -> str:
        return translate_in(lang, text, **params)

    level = N_("Loại %(level)s")
    return {
        "funnel": {
            "labels": [
                tr(FUNNEL_SHORT[f["status"]]) if f["status"] in FUNNEL_SHORT else tr(f["label"])
                for f in board["funnel"]
            ],
            "values": [f["count"] for f in board["funnel"]],
        },
        "levels": {
            "labels": [tr(level, level=lv) for lv in LEVELS] + [tr(N_("Chưa có kết quả"))],
            "values": [board["levels"][lv] for lv in LEVELS] + [board["levels"]["none"]],
        },
        "trend": {
            "labels": [f"{t['period'][5:]}/{t['period'][:4]}" for t in board["trend"]],
            "levels": {lv: [t["levels"][lv] for t in board["trend"]] for lv in LEVELS},
            "mean": [t["mean"] for t in board["trend"]],
        },
        "texts": {
            "records": tr(N_("Số hồ sơ")),
            "people": tr(N_("Số người")),
            "points": tr(N_("Điểm")),
            "mean": tr(N_("Điểm trung bình")),
            "levels": {lv: tr(level, level=lv) for lv in LEVELS},
        },
    }


def _child_counts() -> dict:
    return {
        "total": 0,
        "done": 0,
        "overdue": 0,
        "not_evaluated": 0,
        "levels": {lv: 0 for lv in LEVELS},
        "plan_weight": 0.0,
        "plan_done": 0.0,
    }


def _tops(root_id: int):
    """A recursive CTE (id, top): every unit below the root's children with the child it lies under."""
    tops = (
        select(Unit.id.label("id"), Unit.id.label("top")).where(Unit.parent_id == root_id).cte("tops", recursive=True)
    )
    return tops.union(select(Unit.id, tops.c.top).where(Unit.parent_id == tops.c.id))


def _top_child(units: dict[int, Unit], root: Unit, children: set[int]) -> dict[int, int]:
    """unit id -> the id of the root's child it lies under (the root itself for its own people)."""
    out = {}
    for uid in units:
        cur, seen = uid, set()
        while cur is not None and cur not in children and cur != root.id and cur not in seen:
            seen.add(cur)
            cur = units[cur].parent_id if cur in units else None
        out[uid] = cur if cur is not None else root.id
    return out


def _ordered_steps(steps: dict, known: dict[str, process_steps.StepInfo]) -> list[str]:
    """In the order the process gives its steps; steps it does not number come last."""
    last = process_steps.count(known) + 1
    return sorted(steps, key=lambda s: (known[s].order or last if s in known else last, s))


def json_ready(board: dict) -> dict:
    """The dashboard with datetimes as ISO strings (for the API)."""

    def conv(v):
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return conv(board)
