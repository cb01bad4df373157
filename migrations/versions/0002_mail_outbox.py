"""mail outbox

Revision ID: 0002_mail_outbox
Revises: ec2100ffe5bd
Create Date: 2026-11-23 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002_mail_outbox"
down_revision = "ec2100ffe5bd"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_outgoing_mail_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_outgoing_mail_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.create_index("ix_outgoing_mail_due", ["status", "next_attempt_at"], unique=False)


def downgrade():
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_mail_due")

    op.drop_table("outgoing_mail")
