"""The monthly summary behind the city-wide dashboard (models/summary.py, migration 0011).

Triggers append a delta for every change to an evaluation record; `fold()` (the worker, every poll,
and `flask timers run`) moves the deltas into the summary; readers add the summary and whatever deltas
are still waiting, so a reading is exact at any moment, fold or not. The city's 12-month trend then
reads a few dozen summary rows instead of 2.4 million records."""

from __future__ import annotations

from sqlalchemy import case, delete, func, literal_column, select, text, union_all

from app.extensions import db
from app.models import EvaluationRecord, RecordSummary, RecordSummaryDelta, RecordUnitSummary

_FOLD_LOCK = 0x5EC0_2D11  # pg_advisory_xact_lock key: one folder at a time across all workers


def _upsert(model, rows: list[dict]):
    table = model.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={
            "n": table.c.n + stmt.excluded.n,
            "n_total": table.c.n_total + stmt.excluded.n_total,
            "sum_total": table.c.sum_total + stmt.excluded.sum_total,
        },
    )


def _add(model, groups, with_unit: bool, batch: int = 500) -> None:
    """Upsert grouped sums (key..., n, n_total, sum_total) in key order: one lock order for every folder."""
    keys = (
        ["period", "unit_id", "status", "level", "published"]
        if with_unit
        else ["period", "status", "level", "published"]
    )
    rows = [
        dict(zip(keys, g[: len(keys)]), n=int(g[-3]), n_total=int(g[-2]), sum_total=float(g[-1] or 0)) for g in groups
    ]
    for start in range(0, len(rows), batch):
        db.session.execute(_upsert(model, rows[start : start + batch]))
    db.session.execute(delete(model).where(model.n == 0))  # nobody stands there any more


def fold() -> int:
    """Fold waiting deltas into the summary; returns how many deltas were folded. One transaction:
    a crash folds all or nothing. A transaction-scoped advisory lock (safe behind PgBouncer's
    transaction pooling) keeps two workers from folding the same deltas twice."""
    D = RecordSummaryDelta
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK})
    last = db.session.scalar(select(func.max(D.id)))
    if last is None:
        return 0
    sums = (func.sum(D.dn), func.sum(D.dn_total), func.sum(D.dsum))
    folded = db.session.scalar(select(func.count()).select_from(D).where(D.id <= last))
    city = (D.period, D.status, D.level, D.published)
    _add(
        RecordSummary,
        db.session.execute(select(*city, *sums).where(D.id <= last).group_by(*city).order_by(*city)).all(),
        False,
    )
    per_unit = (D.period, D.unit_id, D.status, D.level, D.published)
    _add(
        RecordUnitSummary,
        db.session.execute(select(*per_unit, *sums).where(D.id <= last).group_by(*per_unit).order_by(*per_unit)).all(),
        True,
    )
    db.session.execute(delete(D).where(D.id <= last))
    return folded


def rebuild() -> int:
    """Recompute the summary from the records (after a restore from an old dump, a manual repair, or to
    check it). Returns the number of summary rows."""
    R, S, D = EvaluationRecord, RecordSummary, RecordSummaryDelta
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK})
        db.session.execute(text("LOCK TABLE evaluation_records IN SHARE MODE"))  # no change while counting
    db.session.execute(delete(D))
    db.session.execute(delete(S))
    db.session.execute(delete(RecordUnitSummary))
    level = func.coalesce(R.level, "")
    published = case((R.published_at.is_(None), 0), else_=1)
    sums = (func.count(), func.count(R.total), func.sum(R.total))
    city = (R.period, R.status, level, published)
    rows = db.session.execute(select(*city, *sums).group_by(*city)).all()
    _add(S, rows, False)
    per_unit = (R.period, R.unit_id, R.status, level, published)
    _add(RecordUnitSummary, db.session.execute(select(*per_unit, *sums).group_by(*per_unit)).all(), True)
    return len(rows)


def trend_rows(periods: list[str], ended: tuple[str, ...]):
    """(period, level, pub, n, n_total, sum_total) per period, level and publication, records in an ended
    status left out: the summary plus the deltas not folded yet."""
    S, D = RecordSummary, RecordSummaryDelta
    both = union_all(
        select(
            S.period, S.status, S.level, S.published, S.n.label("n"), S.n_total.label("n_total"), S.sum_total.label("s")
        ).where(S.period.in_(periods)),
        select(D.period, D.status, D.level, D.published, D.dn, D.dn_total, D.dsum).where(D.period.in_(periods)),
    ).subquery()
    c = both.c
    return db.session.execute(
        select(
            c.period,
            c.level,
            c.published.label("pub"),
            func.sum(c.n).label("n"),
            func.sum(c.n_total).label("n_total"),
            func.sum(c.s).label("sum_total"),
        )
        .where(c.status.not_in(ended))
        .group_by(c.period, c.level, c.published)
        .having(func.sum(c.n) != literal_column("0"))
    ).all()


def month_rows(period: str, tops=None, root_id: int | None = None):
    """(unit_id, status, level, pub, n) of one month, per unit: the unit summary plus waiting deltas.
    With `tops` (a CTE of unit id -> the root's child it lies under, dashboard._tops) the rows are per
    child of `root_id` instead (unit_id is the child, or the root for units directly under it)."""
    U, D = RecordUnitSummary, RecordSummaryDelta
    both = union_all(
        select(U.unit_id, U.status, U.level, U.published, U.n.label("n")).where(U.period == period),
        select(D.unit_id, D.status, D.level, D.published, D.dn).where(D.period == period),
    ).subquery()
    c = both.c
    unit = c.unit_id if tops is None else func.coalesce(tops.c.top, root_id)
    rows = select(unit.label("unit_id"), c.status, c.level, c.published.label("pub"), func.sum(c.n).label("n"))
    if tops is not None:
        rows = rows.select_from(both).outerjoin(tops, tops.c.id == c.unit_id)
    return db.session.execute(
        rows.group_by(unit, c.status, c.level, c.published).having(func.sum(c.n) != literal_column("0"))
    ).all()
