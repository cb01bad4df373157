"""The quota of level A in one agency and one month (the regulation's rule 4), checked the same way on
every path that decides a level: the head's batch, a single decision task (API or page), an appeal
amendment, and anything else that completes a task and so publishes or changes a level.

The counts are the agency-month's as they stand (records already published keep their level, records
not yet decided count as neither A nor B) plus the change being made; the rule itself is
`levels.quota_violation`. The exceptional month (tháng đặc biệt) is a property of the agency-month,
stored in `agency_months` when the head marks it, and applies to every later decision in that month.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AgencyMonth, EvaluationRecord, ProcessInstance, Scheme, User
from app.rules import levels
from app.rules import schemes as defaults

from app.services import audit
from . import steps as process_steps
from app.services.errors import Conflict, Invalid

log = logging.getLogger(__name__)


def agency_month(agency_id: int, period: str) -> AgencyMonth | None:
    return db.session.scalars(
        select(AgencyMonth).where(AgencyMonth.agency_id == agency_id, AgencyMonth.period == period)
    ).first()


def is_exceptional(agency_id: int, period: str) -> bool:
    month = agency_month(agency_id, period)
    return month is not None and month.exceptional


def current_levels(agency_id: int, period: str, changing=()) -> tuple[dict[int, str | None], dict]:
    """(level of each record evaluated in the agency-month — None while not published —, the quota
    definition of the scheme the records being changed were opened with, else of the month's)."""
    rows = db.session.execute(
        select(
            EvaluationRecord.instance_id,
            EvaluationRecord.level,
            EvaluationRecord.published_at,
            EvaluationRecord.scheme_id,
        ).where(
            EvaluationRecord.agency_id == agency_id,
            EvaluationRecord.period == period,
            EvaluationRecord.status != "not_evaluated",
        )
    ).all()
    current = {r.instance_id: (r.level if r.published_at else None) for r in rows}
    changing = set(changing)
    scheme_ids = {r.scheme_id for r in rows if r.instance_id in changing} or {r.scheme_id for r in rows}
    scheme = db.session.get(Scheme, next(iter(scheme_ids))) if scheme_ids and None not in scheme_ids else None
    return current, (scheme.definition["quota"] if scheme else defaults.QUOTA_HANOI)


def basis(counts: dict, quota: dict, exceptional: bool) -> tuple[str, str]:
    """What the cap is a share of, in Vietnamese and English."""
    share = round((quota["exceptional_share"] if exceptional else quota["share"]) * 100)
    if counts["rule"] == "share_of_b":
        return f"{share}% của {counts['count_b']} người loại B", f"{share}% of the {counts['count_b']} people at B"
    return f"{share}% của {counts['evaluated']} người", f"{share}% of the {counts['evaluated']} people evaluated"


def status(agency_id: int, period: str, change: dict[int, str | None], exceptional: bool | None = None) -> dict:
    """The counts with `change` applied; `exceptional` None means as the agency-month is marked."""
    current, quota = current_levels(agency_id, period, change)
    if exceptional is None:
        exceptional = is_exceptional(agency_id, period)
    return _described(levels.quota_counts({**current, **change}, quota, exceptional), quota, exceptional)


def _described(counts: dict, quota: dict, exceptional: bool) -> dict:
    counts = dict(counts, exceeded=counts["count_a"] > counts["cap"], exceptional=exceptional)
    counts["basis"], counts["basis_en"] = basis(counts, quota, exceptional)
    return counts


def serialize(agency_id: int, period: str, *, wait: bool = True) -> None:
    """One decision at a time per agency-month, up to the commit: two decisions that each fit the cap
    alone would otherwise each count without the other's A.

    PostgreSQL: a transaction-scoped advisory lock on (agency, yyyymm). The batch waits for it, before it
    locks any record; a single completion already holds its record's lock, so it only tries, and a busy
    month is a 409 to retry rather than a deadlock with a batch. SQLite has one write lock for the whole
    database, taken by any write statement and held to the commit: a write here makes the counts read
    next include whatever the other writer committed."""
    if db.session.get_bind().dialect.name == "postgresql":
        month = int(period.replace("-", ""))
        if wait:
            db.session.execute(select(func.pg_advisory_xact_lock(agency_id, month)))
        elif not db.session.scalar(select(func.pg_try_advisory_xact_lock(agency_id, month))):
            log.info("quota: agency %s %s busy, completion refused with 409", agency_id, period)
            raise Conflict(
                "Cơ quan đang có quyết định xếp loại khác của tháng này được ghi cùng lúc; hãy thử lại.",
                "Another decision of this agency and month is being saved at the same time; retry.",
            )
        return
    db.session.execute(
        update(AgencyMonth)
        .where(AgencyMonth.agency_id == agency_id, AgencyMonth.period == period)
        .values(period=AgencyMonth.period)
        .execution_options(synchronize_session=False)
    )


def enforce(
    agency_id: int,
    period: str,
    change: dict[int, str | None],
    *,
    exceptional_reason: str | None = None,
    field: str = "level",
    wait: bool = True,
) -> dict:
    """Refuse (422, nothing changed) a change that adds an A beyond the cap of the agency-month. The
    month counts as exceptional when it is marked so, or when this decision marks it (a reason given).
    Holds the agency-month (`serialize`) until the caller commits."""
    serialize(agency_id, period, wait=wait)
    current, quota = current_levels(agency_id, period, change)
    exceptional = is_exceptional(agency_id, period) or bool((exceptional_reason or "").strip())
    counts = _described(levels.quota_counts({**current, **change}, quota, exceptional), quota, exceptional)
    if levels.quota_violation(current, change, quota, exceptional) is None:
        return counts
    log.info(
        "quota refused: agency %s %s, %s A's > cap %s (%s)",
        agency_id,
        period,
        counts["count_a"],
        counts["cap"],
        counts["basis_en"],
    )
    may_mark = quota["rule"] != "share_of_b" and not exceptional
    raise Invalid(
        f"Vượt tỷ lệ loại A: {counts['count_a']} người loại A, tối đa {counts['cap']} ({counts['basis']}). "
        f"Hãy hạ loại một số người (ghi rõ lý do){' hoặc đánh dấu tháng đặc biệt' if may_mark else ''}.",
        f"Quota exceeded: {counts['count_a']} A's, at most {counts['cap']} allowed ({counts['basis_en']}). "
        f"Lower someone's level (with a reason){' or mark the month as exceptional' if may_mark else ''}.",
        [
            {
                "field": field,
                "count": counts["count_a"],
                "cap": counts["cap"],
                "message": f"{counts['count_a']} > {counts['cap']}",
                "message_en": f"{counts['count_a']} > {counts['cap']}",
            }
        ],
    )


def mark_exceptional(
    agency_id: int, period: str, reason: str | None, actor: User, on_behalf_of: User | None = None
) -> AgencyMonth | None:
    """Keep the head's exceptional-month marking on the agency-month (the first marking stands; a later
    batch's own reason stays in its audit row). Part of the caller's transaction."""
    reason = (reason or "").strip()
    if not reason:
        return None
    month = agency_month(agency_id, period)
    if month is None:
        month = AgencyMonth(agency_id=agency_id, period=period)
        db.session.add(month)
    if month.exceptional:
        return month
    month.exceptional_reason, month.exceptional_at = reason, datetime.now(timezone.utc)
    month.exceptional_by_id = actor.id
    month.exceptional_on_behalf_of_id = on_behalf_of.id if on_behalf_of is not None else None
    audit.record(
        "exceptional_month_marked",
        actor=actor,
        on_behalf_of=on_behalf_of,
        details={"agency_id": agency_id, "period": period, "reason": reason},
    )
    log.info("exceptional month marked: agency %s %s by %s", agency_id, period, actor.username)
    return month


def enforce_completion(instance: ProcessInstance, workflow, step: str, *, skip: bool = False) -> None:
    """After the engine ran a completed task, before its result is saved: when the record is (still)
    published and its level became A, the agency-month's quota must allow one more A. `skip` when the
    caller checked the change as a whole (the batch)."""
    data = workflow.data()
    result = data.get("result")
    if skip or not data.get("published_at") or not isinstance(result, dict):
        return
    record = instance.record
    before = record.level if record.published_at else None
    if result.get("level") != "A" or before == "A":
        return
    enforce(
        record.agency_id,
        record.period,
        {record.instance_id: "A"},
        field="scores" if _scores(workflow, step) else "level",
        wait=False,
    )


def _scores(workflow, step: str) -> bool:
    """Does the step's form take scores (the refusal then names the scores, else the level)?"""
    info = process_steps.of_loaded(workflow.loaded).get(step)
    return bool(info and info.scores)
