"""Work plans: the month's registered work items per evaluation (issue #14).

Revision ID: 0011_work_plans
Revises: 0010_account_tokens
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_work_plans"
down_revision = "0010_account_tokens"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("product", sa.String(length=500), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("delays", sa.Integer(), nullable=False),
        sa.Column("major_errors", sa.Integer(), nullable=False),
        sa.Column("objective_cause", sa.Boolean(), nullable=False),
        sa.Column("objective_reason", sa.Text(), nullable=True),
        sa.Column("objective_confirmed", sa.Boolean(), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_plan_items_instance_id_process_instances")),
        sa.ForeignKeyConstraint(["subject_id"], ["users.id"], name=op.f("fk_plan_items_subject_id_users")),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_plan_items_added_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_items")),
    )
    op.create_index("ix_plan_items_instance", "plan_items", ["instance_id", "position"])
    op.create_index("ix_plan_items_period_subject", "plan_items", ["period", "subject_id"])
    with op.batch_alter_table("evaluation_records") as batch:
        batch.add_column(sa.Column("kpi", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("evaluation_records") as batch:
        batch.drop_column("kpi")
    op.drop_index("ix_plan_items_period_subject", table_name="plan_items")
    op.drop_index("ix_plan_items_instance", table_name="plan_items")
    op.drop_table("plan_items")
