"""Multi-row inserts for bulk work (opening a month for a city), in the session's transaction.

On PostgreSQL they go straight to psycopg: COPY for plain inserts, and a pipelined executemany of one
small INSERT … ON CONFLICT DO NOTHING RETURNING for the inserts whose ids are needed. SQLAlchemy's
multi-row VALUES statement would be a single huge SQL text per batch that the driver parses again
every time (it is too long for its statement cache): at 500 rows that costs more than running the
workflows. Elsewhere (SQLite) SQLAlchemy Core's executemany does the job.

Rows are dicts keyed by column name; a key left out takes the column's Python default, as with the
ORM (rows are grouped by their set of keys).
"""

from __future__ import annotations

import json

from sqlalchemy import JSON, Insert, Table, insert as sa_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _groups(rows: list[dict]) -> list[list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def _columns(table: Table, group: list[dict]):
    """The column names to write and a function giving a row's values in that order: the row's keys,
    then the Python defaults of the columns it leaves out (evaluated once per group), JSON encoded
    where the column is JSON."""
    keys = list(group[0])
    defaults = {}
    for col in table.c:
        default = col.default
        if col.name not in group[0] and default is not None and (default.is_scalar or default.is_callable):
            defaults[col.name] = default.arg if default.is_scalar else default.arg(None)
    names = keys + list(defaults)
    json_at = {i for i, n in enumerate(names) if isinstance(table.c[n].type, JSON)}
    fixed = [_json(v) if i + len(keys) in json_at else v for i, v in enumerate(defaults.values())]
    if json_at & set(range(len(keys))):

        def values(row):
            return [_json(row[k]) if i in json_at else row[k] for i, k in enumerate(keys)] + fixed
    else:

        def values(row):
            return [row[k] for k in keys] + fixed

    return names, values


def _json(value):
    return None if value is None else json.dumps(value)


def _raw_cursor():
    """A psycopg cursor on the session's own connection and transaction (pending ORM changes first)."""
    db.session.flush()
    return db.session.connection().connection.driver_connection.cursor()


# Below this many rows a plain INSERT wins: COPY takes two round trips (the server asks for the data,
# then confirms it), which a completion's one or two notifications would pay for nothing.
COPY_FROM = 20
_inserts: dict[str, Insert] = {}  # one statement per table, built once


def insert(table: Table, rows: list[dict]) -> None:
    if not rows:
        return
    if len(rows) < COPY_FROM or not _postgres():
        statement = _inserts.get(table.name)
        if statement is None:
            statement = _inserts[table.name] = sa_insert(table)
        for group in _groups(rows):
            db.session.connection().execute(statement, group)
        return
    with _raw_cursor() as cur:
        for group in _groups(rows):
            names, values = _columns(table, group)
            with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in group:
                    copy.write_row(values(row))


def insert_new(table: Table, rows: list[dict], unique: list[str], returning: list[str]) -> list[tuple]:
    """INSERT … ON CONFLICT (unique) DO NOTHING RETURNING `returning`: the rows actually inserted."""
    if not rows:
        return []
    out: list[tuple] = []
    if not _postgres():
        for group in _groups(rows):
            stmt = (
                sqlite_insert(table)
                .on_conflict_do_nothing(index_elements=unique)
                .returning(*[table.c[n] for n in returning])
            )
            out += [tuple(r) for r in db.session.execute(stmt, group)]
        return out
    with _raw_cursor() as cur:
        for group in _groups(rows):
            names, values = _columns(table, group)
            sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
                f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING {', '.join(returning)}"
            )
            cur.executemany(sql, [values(row) for row in group], returning=True)
            while True:
                out += [tuple(r) for r in cur.fetchall()]
                if not cur.nextset():
                    break
    return out
