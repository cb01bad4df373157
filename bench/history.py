"""Synthetic history for the latency part: earlier months of the same city, finished, written with COPY.

Each earlier month gets, per person, a completed process instance (with a placeholder snapshot "{}": the
latency queries never read snapshots), its published evaluation record and three completed human tasks
(self-evaluation, review, decision). That is how a year of use looks to the inbox and dashboard
queries: a million rows of which the current month's few hundred thousand are `ready`.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from app.rules.workdays import month_after

from .city import _copy


# the process_instances columns both the finished months and the open one are copied with
INSTANCE_COLUMNS = [
    "id",
    "version_id",
    "subject_id",
    "unit_id",
    "agency_id",
    "period",
    "status",
    "step",
    "snapshot",
    "serializer_version",
    "next_timer_at",
    "error",
    "lock_version",
    "created_at",
    "updated_at",
]


def previous_periods(period: str, n: int) -> list[str]:
    year, month = int(period[:4]), int(period[5:])
    out = []
    for _ in range(n):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{month:02d}")
    return out


def months_needed(people: int, current_tasks: int, target: int) -> int:
    return max(1, math.ceil(max(target - current_tasks, 0) / (3 * max(people, 1))))


def build(
    engine, period: str, months: int, version_id: int, scheme_id: int, seed: int = 11, with_tasks: bool = True
) -> dict:
    """Write `months` finished months before `period`; `with_tasks=False` leaves out the human tasks (the
    dashboards' trend reads only instances and records)."""
    rnd = random.Random(seed)
    with engine.begin() as conn:
        units = {r.id: r for r in conn.execute(text("SELECT id, parent_id, is_agency, head_id FROM units"))}
        people = conn.execute(text("SELECT id, unit_id, manager_id FROM users WHERE active ORDER BY id")).all()
        next_instance = conn.execute(text("SELECT coalesce(max(id), 0) FROM process_instances")).scalar() + 1
        next_task = conn.execute(text("SELECT coalesce(max(id), 0) FROM human_tasks")).scalar() + 1
        next_record = conn.execute(text("SELECT coalesce(max(id), 0) FROM evaluation_records")).scalar() + 1

    def agency_of(unit_id):
        u = units[unit_id]
        while u is not None and not u.is_agency:
            u = units.get(u.parent_id)
        return u

    agency = {uid: agency_of(uid) for uid in units}
    tasks_written = 0
    for p_period in previous_periods(period, months):
        first_wd = datetime.combine(month_after(p_period), datetime.min.time(), timezone.utc)
        instances, records, tasks = [], [], []
        for person in people:
            ag = agency[person.unit_id]
            decider = ag.head_id if ag.head_id != person.id else units[ag.parent_id].head_id if ag.parent_id else None
            iid, created = next_instance, first_wd + timedelta(hours=rnd.randint(1, 8))
            next_instance += 1
            instances.append(
                (
                    iid,
                    version_id,
                    person.id,
                    person.unit_id,
                    ag.id,
                    p_period,
                    "completed",
                    "locked",
                    "{}",
                    "1.5",
                    None,
                    None,
                    1,
                    created,
                    created + timedelta(days=20),
                )
            )
            total = rnd.choice((95, 88, 82, 76, 72, 65, 55, 91))
            level = "A" if total >= 90 else "B" if total >= 70 else "C" if total >= 50 else "D"
            published = created + timedelta(days=9)
            records.append(
                (
                    next_record,
                    iid,
                    person.id,
                    person.unit_id,
                    ag.id,
                    p_period,
                    "hanoi-monthly",
                    scheme_id,
                    "locked",
                    total,
                    total,
                    level,
                    total,
                    level,
                    False,
                    False,
                    published,
                    published + timedelta(days=7),
                    published + timedelta(days=8),
                    published + timedelta(days=8),
                )
            )
            next_record += 1
            for step, role, title, assignee, day in (
                ()
                if not with_tasks
                else (
                    ("self_evaluation", "subject", "Cá nhân tự đánh giá, chấm điểm", person.id, 2),
                    (
                        "review",
                        "direct_manager",
                        "Lãnh đạo trực tiếp nhận xét, chấm điểm",
                        person.manager_id or decider,
                        4,
                    ),
                    ("decision", "decider", "Thủ trưởng quyết định xếp loại", decider, 8),
                )
            ):
                due = created + timedelta(days=day)
                tasks.append(
                    (
                        next_task,
                        iid,
                        str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                        step,
                        title,
                        role,
                        f"{step}.json",
                        assignee,
                        person.id,
                        person.unit_id,
                        ag.id,
                        p_period,
                        "completed",
                        due,
                        created,
                        due - timedelta(hours=5),
                        assignee,
                    )
                )
                next_task += 1
        with engine.begin() as conn:
            _copy(
                conn,
                "process_instances",
                INSTANCE_COLUMNS,
                instances,
            )
            _copy(
                conn,
                "evaluation_records",
                [
                    "id",
                    "instance_id",
                    "subject_id",
                    "unit_id",
                    "agency_id",
                    "period",
                    "scheme",
                    "scheme_id",
                    "status",
                    "self_total",
                    "review_total",
                    "proposed_level",
                    "total",
                    "level",
                    "self_evaluation_missed",
                    "appealed",
                    "published_at",
                    "appeal_due",
                    "locked_at",
                    "updated_at",
                ],
                records,
            )
            _copy(
                conn,
                "human_tasks",
                [
                    "id",
                    "instance_id",
                    "task_uuid",
                    "step",
                    "title",
                    "lane_role",
                    "form",
                    "assignee_id",
                    "subject_id",
                    "unit_id",
                    "agency_id",
                    "period",
                    "status",
                    "due_at",
                    "created_at",
                    "completed_at",
                    "completed_by_id",
                ],
                tasks,
            )
        tasks_written += len(tasks)
    with engine.begin() as conn:
        for table in ("process_instances", "evaluation_records", "human_tasks"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("process_instances", "evaluation_records", "human_tasks", "users", "units"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return {"months": months, "tasks": tasks_written}


def open_month(engine, period: str, version_id: int, scheme_id: int, seed: int = 13) -> dict:
    """The month `period` as it stands after its self-evaluation deadline when nobody has moved yet: per
    person a running instance, a record in self-evaluation and a ready, overdue self-evaluation task (what
    the city dashboard's overdue part counts), written with COPY like the history."""
    rnd = random.Random(seed)
    with engine.begin() as conn:
        units = {r.id: r for r in conn.execute(text("SELECT id, parent_id, is_agency, head_id FROM units"))}
        people = conn.execute(text("SELECT id, unit_id FROM users WHERE active ORDER BY id")).all()
        next_instance = conn.execute(text("SELECT coalesce(max(id), 0) FROM process_instances")).scalar() + 1
        next_task = conn.execute(text("SELECT coalesce(max(id), 0) FROM human_tasks")).scalar() + 1
        next_record = conn.execute(text("SELECT coalesce(max(id), 0) FROM evaluation_records")).scalar() + 1

    def agency_of(unit_id):
        u = units[unit_id]
        while u is not None and not u.is_agency:
            u = units.get(u.parent_id)
        return u

    agency = {uid: agency_of(uid) for uid in units}
    first_wd = datetime.combine(month_after(period), datetime.min.time(), timezone.utc)
    due = first_wd + timedelta(days=2)
    instances, records, tasks = [], [], []
    for person in people:
        ag = agency[person.unit_id]
        created = first_wd + timedelta(hours=rnd.randint(1, 8))
        instances.append(
            (
                next_instance,
                version_id,
                person.id,
                person.unit_id,
                ag.id,
                period,
                "running",
                "self_evaluation",
                "{}",
                "1.5",
                due + timedelta(days=30),
                None,
                1,
                created,
                created,
            )
        )
        records.append(
            (
                next_record,
                next_instance,
                person.id,
                person.unit_id,
                ag.id,
                period,
                "hanoi-monthly",
                scheme_id,
                "self_evaluation",
                False,
                False,
                created,
            )
        )
        tasks.append(
            (
                next_task,
                next_instance,
                str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "self_evaluation",
                "Cá nhân tự đánh giá, chấm điểm",
                "subject",
                "self_evaluation.json",
                person.id,
                person.id,
                person.unit_id,
                ag.id,
                period,
                "ready",
                due,
                created,
            )
        )
        next_instance, next_record, next_task = next_instance + 1, next_record + 1, next_task + 1
    with engine.begin() as conn:
        _copy(
            conn,
            "process_instances",
            INSTANCE_COLUMNS,
            instances,
        )
        _copy(
            conn,
            "evaluation_records",
            [
                "id",
                "instance_id",
                "subject_id",
                "unit_id",
                "agency_id",
                "period",
                "scheme",
                "scheme_id",
                "status",
                "self_evaluation_missed",
                "appealed",
                "updated_at",
            ],
            records,
        )
        _copy(
            conn,
            "human_tasks",
            [
                "id",
                "instance_id",
                "task_uuid",
                "step",
                "title",
                "lane_role",
                "form",
                "assignee_id",
                "subject_id",
                "unit_id",
                "agency_id",
                "period",
                "status",
                "due_at",
                "created_at",
            ],
            tasks,
        )
        for table in ("process_instances", "evaluation_records", "human_tasks"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("process_instances", "evaluation_records", "human_tasks"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return {"people": len(people)}
