"""Per-process caches of reference data that every task completion reads and that changes rarely: the
heads of the agencies (who decides) and the working-day calendar.

An entry lives `ttl` seconds. A change made through the ORM in this process drops the cache at once
(after the flush, and again after the commit, so a read between the two cannot keep the old value);
other processes (gunicorn workers, timer workers, other hosts) see it within `ttl`. Code that changes
these tables without the ORM (bulk SQL, a test wiping the database) calls `clear_all()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_caches: list["RefCache"] = []


class RefCache:
    def __init__(self, name: str, ttl: float, tables: set[str]):
        self.name, self.ttl, self.tables = name, ttl, frozenset(tables)
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = compute()
        with self._lock:
            self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    for cache in _caches:
        cache.clear()


def _touched_tables(session: Session) -> set[str]:
    return {getattr(type(obj), "__tablename__", "") for obj in chain(session.new, session.dirty, session.deleted)}


@event.listens_for(Session, "after_flush")
def _drop_on_flush(session: Session, _context) -> None:
    touched = _touched_tables(session)
    hits = [c for c in _caches if c.tables & touched]
    for cache in hits:
        cache.clear()
    if hits:
        session.info.setdefault("refcache_dirty", set()).update(c.name for c in hits)


@event.listens_for(Session, "after_commit")
def _drop_on_commit(session: Session) -> None:
    names = session.info.pop("refcache_dirty", None)
    if names:
        for cache in _caches:
            if cache.name in names:
                cache.clear()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop("refcache_dirty", None)
