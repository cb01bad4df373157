"""Open a month (mở kỳ đánh giá) for a unit, an agency's subtree or the whole city: one instance per
person, idempotent.

The people in scope are taken in chunks of CHUNK by ascending user id; each chunk is one transaction
(start its missing people, commit). So an opening that is interrupted — a killed command, a closed
browser tab, a crash — leaves whole chunks behind, and opening again starts exactly the people who
have no instance for the period yet: nobody twice (the unique (subject, period) key makes that hold
even against a second opener running at the same time), nobody missed. Late joiners (people added
after the month was opened) are started the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, or_, select, text

from app.extensions import db
from app.models import Membership, ProcessInstance, ProcessVersion, Unit, User
from app.rules.workdays import parse_period

from app.services import audit, transaction
from . import instances
from app.services.organisation import access, membership
from app.services.process_design import versions
from app.services.errors import BadRequest, NotFound

CHUNK = 500


def check_period(period) -> str:
    try:
        parse_period(period)
    except (ValueError, TypeError):
        vi = f"Kỳ đánh giá phải có dạng YYYY-MM (ví dụ 2026-10), nhận được: {period!r}"
        en = f"The period must be YYYY-MM (e.g. 2026-10), got {period!r}"
        raise BadRequest(vi, en, [{"field": "period", "message": vi, "message_en": en}])
    return period


def unit_by_code(code) -> Unit:
    text = str(code or "")
    unit = (
        db.session.scalars(select(Unit).where(Unit.code == text)).first() if "\x00" not in text else None
    )  # PG refuses NUL
    if unit is None:
        vi, en = f"Không có đơn vị mã {code!r}", f"No unit with code {code!r}"
        raise NotFound(vi, en, [{"field": "unit", "message": vi, "message_en": en}])
    return unit


@dataclass
class Opening:
    """What an opening covers: checked once, then worked through chunk by chunk."""

    unit: Unit
    period: str
    include_subunits: bool
    actor: User | None
    version: ProcessVersion
    units: dict[int, Unit]
    total: int  # people in scope: the length of the progress bar
    _starter: instances.Starter | None = None

    @property
    def starter(self) -> instances.Starter:
        if self._starter is None:
            self._starter = instances.Starter(self.version, self.period, self.actor)
        return self._starter


@dataclass
class Progress:
    total: int
    done: int = 0  # people examined so far (of `total`)
    started: int = 0
    skipped: int = 0  # already had an instance for the period
    after: int = 0  # the last user id examined: where the next chunk begins
    finished: bool = False
    chunks: int = 0
    started_usernames: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "total": max(self.total, self.done),
            "done": self.done,
            "started": self.started,
            "skipped": self.skipped,
            "after": self.after,
            "finished": self.finished,
        }


MAX_ID = 2**31 - 1


def resume(opening: Opening, values: dict) -> Progress:
    """The progress the page carries between chunks (`after`, `done`, `started`, `skipped`), checked: a
    user id the database's integers hold, counts no opening of this size can pass. The counts feed the
    closing audit event, so an id past the integer range was a 500 and made-up counts ("10**300
    started") were written to the audit trail as this opening's."""
    numbers = {}
    for name in ("after", "done", "started", "skipped"):
        value = values.get(name, 0)
        if value in (None, ""):
            value = 0
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
            value = int(value)
        numbers[name] = value
    done_cap = opening.total + CHUNK  # people may join the units while the opening runs
    bad = [
        name
        for name, cap in (("after", MAX_ID), ("done", done_cap), ("started", done_cap), ("skipped", done_cap))
        if not (isinstance(numbers[name], int) and not isinstance(numbers[name], bool) and 0 <= numbers[name] <= cap)
    ]
    if not bad and numbers["started"] + numbers["skipped"] > numbers["done"]:
        bad = ["started", "skipped"]
    if bad:
        vi = "Tiến độ mở kỳ gửi lên không hợp lệ; hãy mở kỳ lại từ đầu."
        en = "The opening's progress is not valid; open the month again from the start."
        raise BadRequest(vi, en, [{"field": name, "message": vi, "message_en": en} for name in bad])
    return Progress(
        opening.total,
        after=numbers["after"],
        done=numbers["done"],
        chunks=numbers["done"] // CHUNK,
        started=numbers["started"],
        skipped=numbers["skipped"],
    )


def plan(unit_code: str, period: str, include_subunits: bool = False, actor: User | None = None) -> Opening:
    """Check the request (period, unit, the actor's authority, a published process) and size it."""
    check_period(period)
    unit = unit_by_code(unit_code)
    if actor is not None:
        access.require_hr_for(actor, unit)
    version = versions.latest_published()
    if version is None:
        raise NotFound("Chưa có phiên bản quy trình nào được ban hành.", "No published process version.")
    unit_ids = unit.subtree_ids() if include_subunits else [unit.id]
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    opening = Opening(unit, period, include_subunits, actor, version, units, 0)
    opening.total = db.session.scalar(_candidates(opening).with_only_columns(func.count(User.id)))
    return opening


def _candidates(opening: Opening):
    """People who work in the units (or worked there for part of the month), by id."""
    first, last = membership.month_bounds(opening.period)
    unit_ids = list(opening.units)
    moved_here = select(Membership.user_id).where(
        Membership.unit_id.in_(unit_ids),
        Membership.start <= last,
        or_(Membership.end.is_(None), Membership.end >= first),
    )
    return select(User).where(or_(User.unit_id.in_(unit_ids), User.id.in_(moved_here)), User.active.is_(True))


@dataclass
class _Chunk:
    examined: int  # people read (in scope by the query)
    after: int  # the last of their ids
    in_scope: int  # of them, evaluated in these units
    usernames: dict[int, str]  # subject id -> username, of those to start
    batch: list[dict]  # their prepared rows (instances.Starter.prepare)
    last: bool


def _prepare_chunk(opening: Opening, after: int, size: int) -> _Chunk:
    """Read the next `size` people in scope after user id `after` and prepare the missing ones."""
    people = db.session.scalars(_candidates(opening).where(User.id > after).order_by(User.id).limit(size)).all()
    if not people:
        return _Chunk(0, after, 0, {}, [], True)
    main = membership.main_units(opening.period, [p.id for p in people])
    todo = [
        (p, opening.units[main.get(p.id, p.unit_id)]) for p in people if main.get(p.id, p.unit_id) in opening.units
    ]  # evaluated where they worked most
    already = set(
        db.session.scalars(
            select(ProcessInstance.subject_id).where(
                ProcessInstance.period == opening.period, ProcessInstance.subject_id.in_([p.id for p, _ in todo])
            )
        )
    )
    fresh = [(p, home) for p, home in todo if p.id not in already]
    return _Chunk(
        len(people),
        people[-1].id,
        len(todo),
        {p.id: p.username for p, _ in fresh},
        opening.starter.prepare(fresh),
        len(people) < size,
    )


def _account(progress: Progress, chunk: _Chunk, started: dict[int, int]) -> None:
    progress.started += len(started)
    progress.skipped += chunk.in_scope - len(started)  # had one already, or another opener was faster
    progress.started_usernames += [chunk.usernames[sid] for sid in chunk.usernames if sid in started]
    progress.done += chunk.examined
    progress.after = chunk.after
    progress.finished = chunk.last
    progress.chunks += 1
    if progress.chunks in ANALYZE_AFTER and started:
        _refresh_statistics()


# A bulk opening grows process_instances faster than autovacuum (if it runs at all) refreshes its
# statistics; with stale ones PostgreSQL answers "who has an instance already" by scanning the whole
# month instead of probing the unique (subject, period) index (measured: 60 ms -> 1.4 s per chunk at
# 200,000 people). So the opening analyzes the table itself after chunks 1, 4, 16, 64, 256 and 1024.
ANALYZE_AFTER = {1, 4, 16, 64, 256, 1024}


def _refresh_statistics() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        with transaction.committed():
            db.session.execute(text("ANALYZE process_instances"))  # a warning, not an error, if not the owner


def open_chunk(opening: Opening, progress: Progress, size: int = CHUNK) -> Progress:
    """Start the missing people among the next `size` in scope, commit, and advance `progress`
    (a chunk is a transaction of its own: an interrupted opening keeps its whole chunks)."""
    with transaction.committed():
        chunk = _prepare_chunk(opening, progress.after, size)
        started = instances.write_started(chunk.batch)
    _account(progress, chunk, started)
    return progress


def run(
    opening: Opening,
    size: int = CHUNK,
    on_chunk: Callable[[Progress], None] | None = None,
    progress: Progress | None = None,
    pipelined: bool | None = None,
) -> Progress:
    """Every chunk, one transaction each; `on_chunk` hears of each chunk once it is committed.

    On PostgreSQL a writer thread (its own session) inserts and commits chunk n while this thread runs
    the engine for chunk n+1, so the database's work overlaps the engine's instead of adding to it.
    At most one chunk is in flight, and `on_chunk(n)` is called before chunk n+1 is handed over: an
    exception from it stops the run with every chunk up to n committed and nothing after."""
    progress = progress or Progress(opening.total)
    if pipelined is None:
        pipelined = db.session.get_bind().dialect.name == "postgresql"
    if not pipelined:
        while not progress.finished:
            open_chunk(opening, progress, size)
            if on_chunk is not None:
                on_chunk(progress)
        return progress
    app = current_app._get_current_object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-month-writer") as writer:
        cursor, pending = progress.after, None  # pending: (future of the write, its chunk)
        while True:
            with transaction.committed():  # end this thread's read-only transaction
                chunk = _prepare_chunk(opening, cursor, size)
            if pending is not None:
                (future, written), pending = pending, None
                _account(progress, written, future.result())
                if on_chunk is not None:
                    on_chunk(progress)
            cursor = chunk.after
            pending = (writer.submit(_write_in_own_session, app, chunk.batch), chunk)
            if chunk.last:
                break
        (future, written), pending = pending, None
        _account(progress, written, future.result())
        if on_chunk is not None:
            on_chunk(progress)
    return progress


def _write_in_own_session(app, batch: list[dict]) -> dict[int, int]:
    with app.app_context(), transaction.committed():  # a session (and connection) of its own
        return instances.write_started(batch)


def open_month(
    unit_code: str,
    period: str,
    include_subunits: bool = False,
    actor: User | None = None,
    *,
    chunk_size: int = CHUNK,
    on_chunk: Callable[[Progress], None] | None = None,
) -> dict:
    opening = plan(unit_code, period, include_subunits, actor)
    progress = run(opening, chunk_size, on_chunk)
    with transaction.committed():  # a batch: its chunks are committed as it goes, and so is its record
        record_opened(opening, progress)
    return {"started": progress.started, "skipped": progress.skipped, "started_usernames": progress.started_usernames}


def record_opened(opening: Opening, progress: Progress) -> None:
    """The audit event of a finished opening (what this run started; the rest were there already)."""
    audit.record(
        "month_opened",
        actor=opening.actor,
        details={
            "unit": opening.unit.code,
            "period": opening.period,
            "include_subunits": opening.include_subunits,
            "started": progress.started,
            "skipped": progress.skipped,
        },
    )
