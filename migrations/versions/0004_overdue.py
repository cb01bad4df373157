"""Human tasks remember when their overdue notice went out.

Revision ID: 0004_overdue
Revises: 0003_rules
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_overdue"
down_revision = "0003_rules"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_human_tasks_due", ["status", "due_at"], unique=False)


def downgrade():
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_due")
        batch_op.drop_column("overdue_notified_at")
