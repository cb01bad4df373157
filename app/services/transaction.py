"""The one place that ends a transaction (docs/architecture.md, "Transactions").

Services never commit or roll back: they change the session and raise a ServiceError when they
refuse. The outermost caller owns the transaction through `committed()`:

- a web request: every view runs inside `committed()` (installed by `app.web.register`), and an
  answer of 400 or more is rolled back as well, so a refusal that a route turns into a page
  (a 422 form with its errors) writes nothing either;
- a CLI command or the worker: `with committed():` around each unit it wants kept, e.g. one
  instance per transaction in a timer sweep, so a killed worker leaves each instance fired or not.

A unit of work that failed inside a caller that chose to go on (a batch that reports per row,
a route that catches the refusal and redirects) marks the transaction failed (`mark_failed`):
the outermost `committed()` then rolls back instead of committing. What must be kept even though
the use case failed (the engine error an instance now shows, a failed sign-in) is registered with
`keep_on_failure` and written in a transaction of its own after the rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

_FAILED = "transaction_failed"
_KEEP = "transaction_keep_on_failure"
_WROTE = "transaction_wrote"
_DEPTH = "transaction_depth"
_AFTER = "transaction_after_commit"


def mark_failed() -> None:
    """End the current transaction with a rollback, whatever the caller does next."""
    db.session.info[_FAILED] = True


def failed() -> bool:
    return bool(db.session.info.get(_FAILED))


def keep_on_failure(write: Callable[[], None]) -> None:
    """Run `write` in a transaction of its own if the current one is rolled back."""
    db.session.info.setdefault(_KEEP, []).append(write)


def kept(write: Callable[[], None]) -> None:
    """`write` now, and again after a rollback if the transaction is rolled back: for records that
    must outlive the request that made them (a failed sign-in counts toward the lockout even when
    the answer is a 401)."""
    write()
    keep_on_failure(write)


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the current transaction is committed, never if it is rolled back: for what
    cannot be undone, such as removing a stored file whose row the transaction marks withdrawn."""
    db.session.info.setdefault(_AFTER, []).append(action)


def wrote() -> bool:
    """Whether the current transaction has flushed anything (the no-writes-on-GET check)."""
    return bool(db.session.info.get(_WROTE))


@contextmanager
def committed() -> Iterator[None]:
    """Commit what the block did, or roll all of it back when it raises or a unit of work in it
    failed. Nested uses commit at their own end: a sweep's per-item blocks inside a command."""
    session = db.session
    session.info[_DEPTH] = session.info.get(_DEPTH, 0) + 1
    try:
        yield
    except BaseException:
        _finish(rollback=True)
        raise
    else:
        _finish(rollback=failed())
    finally:
        session.info[_DEPTH] -= 1


def _finish(rollback: bool) -> None:
    session = db.session
    keep = session.info.pop(_KEEP, [])
    after = session.info.pop(_AFTER, [])
    session.info.pop(_FAILED, None)
    session.info.pop(_WROTE, None)
    if not rollback:
        session.commit()
        for action in after:
            try:
                action()
            except Exception:  # the transaction is committed: a failed clean-up is logged, not raised
                log.exception("an action after the commit failed")
        return
    session.rollback()
    for write in keep:
        try:
            write()
            session.commit()
        except Exception:  # a failure record that cannot be written must not hide the first error
            session.rollback()
            log.exception("could not keep a failure record")


def discard() -> None:
    """Roll back now: for a read-only request that ran code which may have staged changes (a
    simulation, a test run) and for the error handlers. Nothing written is kept."""
    session = db.session
    session.info.pop(_KEEP, None)
    session.info.pop(_AFTER, None)
    session.info.pop(_FAILED, None)
    session.info.pop(_WROTE, None)
    session.rollback()


@event.listens_for(Session, "after_flush")
def _note_write(session, flush_context) -> None:
    session.info[_WROTE] = True
