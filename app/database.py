"""Engines: the primary, an optional read replica, and what changes when either goes through PgBouncer.

- `DATABASE_REPLICA_URL`: a second engine (the Flask-SQLAlchemy bind `replica`) for the read-only,
  lag-tolerant pages (docs/operations.md, "A read replica"). A view opts in with `@reads_replica`; every
  other query and every write goes to the primary, and so do those views while the replica lags or is
  down. Its connections are read-only whatever server they
  reach, so a write sent there by mistake fails instead of landing on a primary the URL pointed at.
- `DATABASE_PGBOUNCER=1` (and `DATABASE_REPLICA_PGBOUNCER=1`): the URL is a PgBouncer in transaction
  pooling, which lends a server connection for one transaction only. Then psycopg prepares nothing (a
  statement prepared on one server connection is unknown on the next) and the settings the app would
  send once per connection (`lock_timeout`, read-only) are set per transaction with `SET LOCAL`, since
  PgBouncer refuses the `options` start-up parameter and a session `SET` would leak to another client.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

REPLICA = "replica"
_READS = "_reads_replica"
_CHOSEN = "_replica_chosen"
F = TypeVar("F", bound=Callable[..., Any])


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _flag(name: str) -> bool:
    return os.environ.get(name, "0").strip() not in ("", "0", "false", "no")


def settings(overrides: dict) -> dict:
    """DATABASE_REPLICA_URL, DATABASE_PGBOUNCER, DATABASE_REPLICA_PGBOUNCER from the environment (an
    override given to create_app wins)."""
    replica = overrides.get("DATABASE_REPLICA_URL", os.environ.get("DATABASE_REPLICA_URL", "")) or ""
    return {
        "DATABASE_REPLICA_URL": normalise_url(replica.strip()) if replica.strip() else "",
        # DATABASE_PREPARED_STATEMENTS=0 is the older name of the same need (no prepared statements)
        "DATABASE_PGBOUNCER": bool(overrides.get("DATABASE_PGBOUNCER", _flag("DATABASE_PGBOUNCER"))),
        "DATABASE_REPLICA_PGBOUNCER": bool(
            overrides.get("DATABASE_REPLICA_PGBOUNCER", _flag("DATABASE_REPLICA_PGBOUNCER"))
        ),
    }


def engine_options(url: str, lock_wait: int, pgbouncer: bool, read_only: bool = False, prepare: bool = True) -> dict:
    """create_engine() options for one engine; `_session_sql` travels in them to `install`."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": lock_wait}
        return options
    if not url.startswith("postgresql"):
        return options
    wanted = [f"lock_timeout={lock_wait * 1000}"] + (["default_transaction_read_only=on"] if read_only else [])
    connect_args: dict[str, Any] = {}
    if pgbouncer:
        connect_args["prepare_threshold"] = None
        options["_session_sql"] = [f"SET LOCAL lock_timeout = {lock_wait * 1000}"] + (
            ["SET TRANSACTION READ ONLY"] if read_only else []
        )
    else:
        if not prepare:
            connect_args["prepare_threshold"] = None
        # keep what the URL itself asks for (`?options=-c ...`): connect_args would replace it
        given = make_url(url).query.get("options")
        given = given if isinstance(given, str) else " ".join(given or ())
        connect_args["options"] = " ".join(filter(None, [given] + [f"-c {w}" for w in wanted]))
    options["connect_args"] = connect_args
    return options


def binds(cfg: dict, lock_wait: int) -> dict:
    """SQLALCHEMY_BINDS for the replica, or {} (refused on SQLite: one file has no replica)."""
    replica = normalise_url(cfg.get("DATABASE_REPLICA_URL") or "")
    if not replica:
        return {}
    if not (cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and replica.startswith("postgresql")):
        raise ValueError(
            "DATABASE_REPLICA_URL needs PostgreSQL for both DATABASE_URL and the replica "
            "(a SQLite file has no replica): unset it"
        )
    options = engine_options(replica, lock_wait, cfg.get("DATABASE_REPLICA_PGBOUNCER", False), read_only=True)
    # a replica that does not answer must cost a request seconds, not minutes (libpq waits for ever)
    options.setdefault("connect_args", {}).setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
    return {REPLICA: {"url": replica, **options}}


def pop_session_sql(cfg: dict) -> dict[str | None, list[str]]:
    """Take the per-transaction statements out of the engine options (create_engine knows no such key)."""
    out: dict[str | None, list[str]] = {}
    sql = cfg["SQLALCHEMY_ENGINE_OPTIONS"].pop("_session_sql", None)
    if sql:
        out[None] = sql
    for key, options in cfg.get("SQLALCHEMY_BINDS", {}).items():
        if isinstance(options, dict) and options.get("_session_sql"):
            out[key] = options.pop("_session_sql")
    return out


def install(app: Flask, session_sql: dict[str | None, list[str]]) -> None:
    """Run the per-transaction settings at the start of every transaction on the engines that need them."""
    from app.extensions import db

    with app.app_context():
        for key, statements in session_sql.items():
            _on_begin(db.engines[key], tuple(statements))
        if REPLICA in db.engines:
            log.info(
                "reads of the dashboards, lists and exports go to the replica %s",
                db.engines[REPLICA].url.render_as_string(hide_password=True),
            )


def _on_begin(engine: Engine, statements: tuple[str, ...]) -> None:
    @event.listens_for(engine, "begin")
    def _set_local(conn) -> None:
        for sql in statements:
            conn.exec_driver_sql(sql)


def reads_replica(view: F) -> F:
    """The view's reads go to the replica when one is configured (for the rest of the request)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        setattr(g, _READS, True)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def reading_replica() -> bool:
    return has_app_context() and bool(g.get(_READS, False))


# ------------------------------------------------------------------------------- the replica's lag
# A replica that lags more than DATABASE_REPLICA_MAX_LAG_SECONDS (default 10 s, the smallest tolerance
# of the pages that read it, docs/operations.md) or does not answer is left out: its pages read the
# primary until a later check finds it fresh again. Each server process checks at most every
# DATABASE_REPLICA_CHECK_SECONDS (5 s), and waits longer (30 s) after a replica that did not answer,
# since each of those checks may cost a request the connect timeout.
REPLICA_CONNECT_TIMEOUT = 3
_DOWN_RECHECK = 30.0
LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"  # all it received is applied
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
_checks: dict[str, tuple[float, bool, bool]] = {}  # replica URL -> (when checked, usable, answered)
_checks_lock = threading.Lock()


def replica_lag(engine: Engine) -> float:
    """Seconds the replica is behind its primary (0: caught up, or not a standby at all)."""
    with engine.connect() as conn:
        return float(conn.execute(LAG_SQL).scalar() or 0)


def replica_usable(engine: Engine, max_lag: float, every: float) -> bool:
    key = str(engine.url)
    now = time.monotonic()
    checked = _checks.get(key)
    if checked is not None and now - checked[0] < (every if checked[2] else _DOWN_RECHECK):
        return checked[1]
    try:
        lag = replica_lag(engine)
        usable, answered, why = lag <= max_lag, True, f"{lag:.1f} s behind (at most {max_lag:g} s)"
    except DBAPIError as exc:
        usable, answered, why = False, False, f"not answering: {str(exc.orig or exc).splitlines()[0]}"
    with _checks_lock:
        before = _checks.get(key)
        _checks[key] = (now, usable, answered)
    if before is None or before[1] != usable:
        if usable:
            log.info("the replica is read again: %s", why)
        else:
            log.warning("the replica is left out, its pages read the primary: %s", why)
    return usable


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending everything to the replica inside a `@reads_replica` view
    (a write there fails: the replica's connections are read-only), unless the replica lags or is
    down; the choice is made once per request, so a page never mixes the two."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and reading_replica():
            replica = self._db.engines.get(REPLICA)
            if replica is not None:
                if _CHOSEN not in g:
                    config = current_app.config
                    fresh = replica_usable(
                        replica,
                        float(config.get("DATABASE_REPLICA_MAX_LAG_SECONDS", 10)),
                        float(config.get("DATABASE_REPLICA_CHECK_SECONDS", 5)),
                    )
                    setattr(g, _CHOSEN, fresh)
                if g.get(_CHOSEN):
                    return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
