"""Fixtures: one real database per run (SQLite file or PostgreSQL from TEST_DATABASE_URL), schema
from the Alembic migrations, emptied and reloaded with the demo organisation before each test."""

from __future__ import annotations

import contextvars
import os
import re
import tempfile
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flask import has_app_context
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db

PERIOD = "2030-03"  # far enough ahead that no real-time deadline interferes
PASSWORD = "DanhGia@2026"


def _database_url(tmp_dir: str) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "sqlite")
    if url == "sqlite":
        return f"sqlite:///{os.path.join(tmp_dir, 'test.sqlite3')}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # A database of its own per run, so that two runs on one server never block each other.
    parsed = make_url(url)
    parsed = parsed.set(database=f"{parsed.database}_{os.getpid()}")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: its own app context, `g`,
    database session and login state, even though the test holds an app context open."""

    def open(self, *args, **kwargs):
        if has_app_context():
            # The test is the outermost caller of what it ran directly (services never commit): it
            # stands before the request runs, unless a unit of work in it failed (then it is undone).
            from app.services import transaction

            with transaction.committed():
                pass

        def in_its_own_context():
            response = super(IsolatedClient, self).open(*args, **kwargs)
            response.make_sequence()  # a streamed body runs its generator inside the request context
            return response

        response = contextvars.Context().run(in_its_own_context)
        if has_app_context():
            db.session.expire_all()  # the test's own session now sees what the request committed
        return response


@pytest.fixture(scope="session")
def app():
    tmp_dir = tempfile.mkdtemp(prefix="danhgia-test-")
    os.environ["INSTANCE_PATH"] = tmp_dir
    url = _database_url(tmp_dir)
    # WORK_PLAN_PHASE off: the suite opens PERIOD (in the future) and goes straight to self-evaluation;
    # tests/test_work_plans.py switches the plan on.
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WORK_PLAN_PHASE": False,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    _drop_database(url)


def _empty_all_tables():
    from app.services import reference_cache

    reference_cache.clear_all()  # the wipe below is plain SQL: no flush tells the caches
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            # audit_events is append-only by trigger; wiping the test database is the one exception
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("UPDATE units SET head_id = NULL"))
            for t in tables:
                conn.execute(t.delete())
            # deleting evaluation records appended summary deltas (a trigger): the summary starts empty too
            conn.execute(text("DELETE FROM record_summary_delta"))
            conn.execute(text("DELETE FROM record_summary"))
            conn.execute(text("DELETE FROM record_unit_summary"))


@pytest.fixture()
def ctx(app):
    """An app context on an empty database holding the demo organisation and the process."""
    with app.app_context():
        db.session.remove()
        _empty_all_tables()
        from app.demo import load_demo

        load_demo()
        yield app
        db.session.remove()


@pytest.fixture()
def client(ctx):
    return ctx.test_client()


def user(username):
    from sqlalchemy import select

    from app.models import User

    return db.session.scalars(select(User).where(User.username == username)).one()


def later(days: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)
