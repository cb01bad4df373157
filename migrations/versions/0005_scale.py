"""City scale: indexes for the timer and overdue workers and the subject history, and cheaper
snapshot compression on PostgreSQL.

- ix_instances_timer_due: the timer workers' keyset scan (next_timer_at, id) over running instances
  only (a partial index: finished instances never enter it).
- ix_human_tasks_overdue: the overdue sweep reads ready tasks past due that were not yet reported; a
  partial index holds exactly those, so a sweep does not wade through every task already reported.
- ix_records_subject_period: a person's months (previous result on the task page, roll-ups by person).
- ix_instances_attention: a month's instances that need HR (suspended, stopped by an engine error) for
  the dashboard; partial, so it stays tiny and is never a candidate for the queries by person and month
  (a full (period, status) index was, with stale statistics during a bulk opening, and scanned the month).
- PostgreSQL: snapshots are compressed with lz4 instead of pglz where the server supports it
  (2-3x less server CPU per write, about 20% more bytes; existing values stay as they are), and ANALYZE
  skips the snapshot column (no query filters on it; sampling it means decompressing thousands of them).

Revision ID: 0005_scale
Revises: 0004_overdue
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_scale"
down_revision = "0004_overdue"
branch_labels = None
depends_on = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and bool(
        bind.execute(
            sa.text("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")
        ).scalar()
    )


def upgrade():
    running = sa.text("status = 'running'")
    attention = sa.text("status IN ('suspended', 'error')")
    unreported = sa.text("status = 'ready' AND overdue_notified_at IS NULL")
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.create_index(
            "ix_instances_timer_due",
            ["next_timer_at", "id"],
            unique=False,
            postgresql_where=running,
            sqlite_where=running,
        )
        batch_op.create_index(
            "ix_instances_attention",
            ["period", "status"],
            unique=False,
            postgresql_where=attention,
            sqlite_where=attention,
        )
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_human_tasks_overdue",
            ["due_at", "id"],
            unique=False,
            postgresql_where=unreported,
            sqlite_where=unreported,
        )
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.create_index("ix_records_subject_period", ["subject_id", "period"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE process_instances ALTER COLUMN snapshot SET STATISTICS 0")
    if _lz4_available():
        op.execute("ALTER TABLE process_instances ALTER COLUMN snapshot SET COMPRESSION lz4")


def downgrade():
    if _lz4_available():
        op.execute("ALTER TABLE process_instances ALTER COLUMN snapshot SET COMPRESSION pglz")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE process_instances ALTER COLUMN snapshot SET STATISTICS -1")
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_subject_period")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_overdue")
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_attention")
        batch_op.drop_index("ix_instances_timer_due")
