"""Monitoring: saved list filters per user; indexes for the dashboard and the lists: a unit's month by
status (evaluation records, human tasks), a whole month by status (records: the city-wide dashboard and
counts), people by name (the lists' default order, walked by keyset), and name search (a trigram index
on PostgreSQL). Suspended instances need no column: the instance status takes the value `suspended`.

Revision ID: 0006_monitor
Revises: 0005_scale
"""

from alembic import op
import sqlalchemy as sa

revision = "0006_monitor"
down_revision = "0005_scale"
branch_labels = None
depends_on = None


TRGM_INDEX = "ix_users_full_name_trgm"


def _create_trigram_index() -> None:
    """Name search (`lower(full_name) LIKE '%…%'`): on PostgreSQL a trigram index when pg_trgm can be
    installed (a trusted extension since PostgreSQL 13; without it the search still works, by a scan);
    on SQLite the same expression as a plain index, so that the schema matches the models everywhere."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        bind.execute(sa.text(f"CREATE INDEX {TRGM_INDEX} ON users (lower(full_name))"))
        return
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar():
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            bind.execute(sa.text(f"CREATE INDEX {TRGM_INDEX} ON users USING gin (lower(full_name) gin_trgm_ops)"))
    except sa.exc.DBAPIError:  # no privilege to create the extension: keep going without the index
        pass


def upgrade():
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_filters_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
        sa.UniqueConstraint("user_id", "kind", "name", name="uq_saved_filters_user_kind_name"),
    )
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filters_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.create_index("ix_records_unit_period_status", ["unit_id", "period", "status"], unique=False)
        batch_op.create_index("ix_records_period_status", ["period", "status"], unique=False)
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_human_tasks_unit_period_status", ["unit_id", "period", "status"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_full_name", ["full_name"], unique=False)
    _create_trigram_index()


def downgrade():
    op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")  # on PostgreSQL the extension stays: others may use it
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_full_name")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_unit_period_status")
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_period_status")
        batch_op.drop_index("ix_records_unit_period_status")
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filters_user_id"))
    op.drop_table("saved_filters")
