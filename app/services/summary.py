"""The monthly summary behind the city-wide dashboard (models/summary.py, migration 0011).

Triggers append a delta for every change to an evaluation record; `fold()` (the worker, every poll,
and `flask timers run`) moves the deltas into the summary; readers add the summary and whatever deltas
are still waiting, so a reading is exact at any moment, fold or not. The city's 12-month trend then
reads a few dozen summary rows instead of 2.4 million records."""
from __future__ import annotations

from sqlalchemy import case, delete, func, literal_column, select, text, union_all

from app.extensions import db
from app.models import EvaluationRecord, RecordSummary, RecordSummaryDelta

_FOLD_LOCK = 0x5EC0_2D11   # pg_advisory_xact_lock key: one folder at a time across all workers


def _upsert(rows: list[dict]):
    table = RecordSummary.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=["period", "status", "level", "published"],
        set_={"n": table.c.n + stmt.excluded.n, "n_total": table.c.n_total + stmt.excluded.n_total,
              "sum_total": table.c.sum_total + stmt.excluded.sum_total})


def fold(batch: int = 500) -> int:
    """Fold waiting deltas into the summary; returns how many deltas were folded. One transaction:
    a crash folds all or nothing. A transaction-scoped advisory lock (safe behind PgBouncer's
    transaction pooling) keeps two workers from folding the same deltas twice."""
    D = RecordSummaryDelta
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK})
    last = db.session.scalar(select(func.max(D.id)))
    if last is None:
        db.session.commit()
        return 0
    groups = db.session.execute(
        select(D.period, D.status, D.level, D.published, func.sum(D.dn), func.sum(D.dn_total), func.sum(D.dsum),
               func.count())
        .where(D.id <= last).group_by(D.period, D.status, D.level, D.published)
        .order_by(D.period, D.status, D.level, D.published)).all()     # one lock order for every folder
    rows = [{"period": g[0], "status": g[1], "level": g[2], "published": g[3], "n": int(g[4]),
             "n_total": int(g[5]), "sum_total": float(g[6])} for g in groups]
    for start in range(0, len(rows), batch):
        db.session.execute(_upsert(rows[start:start + batch]))
    folded = sum(g[7] for g in groups)
    db.session.execute(delete(D).where(D.id <= last))
    db.session.execute(delete(RecordSummary).where(RecordSummary.n == 0))   # nobody stands there any more
    db.session.commit()
    return folded


def rebuild() -> int:
    """Recompute the summary from the records (after a restore from an old dump, a manual repair, or to
    check it). Returns the number of summary rows."""
    R, S, D = EvaluationRecord, RecordSummary, RecordSummaryDelta
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK})
        db.session.execute(text("LOCK TABLE evaluation_records IN SHARE MODE"))   # no change while counting
    db.session.execute(delete(D))
    db.session.execute(delete(S))
    level = func.coalesce(R.level, "")
    published = case((R.published_at.is_(None), 0), else_=1)
    rows = [{"period": r[0], "status": r[1], "level": r[2], "published": r[3], "n": r[4], "n_total": r[5],
             "sum_total": float(r[6] or 0)} for r in db.session.execute(
        select(R.period, R.status, level, published, func.count(), func.count(R.total), func.sum(R.total))
        .group_by(R.period, R.status, level, published))]
    for start in range(0, len(rows), 500):
        db.session.execute(_upsert(rows[start:start + 500]))
    db.session.commit()
    return len(rows)


def trend_rows(periods: list[str], ended: tuple[str, ...]):
    """(period, level, pub, n, n_total, sum_total) per period, level and publication, records in an ended
    status left out: the summary plus the deltas not folded yet."""
    S, D = RecordSummary, RecordSummaryDelta
    both = union_all(
        select(S.period, S.status, S.level, S.published, S.n.label("n"), S.n_total.label("n_total"),
               S.sum_total.label("s")).where(S.period.in_(periods)),
        select(D.period, D.status, D.level, D.published, D.dn, D.dn_total, D.dsum).where(D.period.in_(periods)),
    ).subquery()
    c = both.c
    return db.session.execute(
        select(c.period, c.level, c.published.label("pub"), func.sum(c.n).label("n"),
               func.sum(c.n_total).label("n_total"), func.sum(c.s).label("sum_total"))
        .where(c.status.not_in(ended)).group_by(c.period, c.level, c.published)
        .having(func.sum(c.n) != literal_column("0"))).all()
