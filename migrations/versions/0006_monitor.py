"""Monitoring: saved list filters per user; indexes for the dashboard and the lists (a unit's month
by status, on evaluation records and human tasks). Suspended instances need no column: the
instance status takes the value `suspended`.

Revision ID: 0006_monitor
Revises: 0005_scale
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_monitor"
down_revision = "0005_scale"
branch_labels = None
depends_on = None


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
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_human_tasks_unit_period_status", ["unit_id", "period", "status"], unique=False)


def downgrade():
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_unit_period_status")
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_unit_period_status")
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filters_user_id"))
    op.drop_table("saved_filters")
