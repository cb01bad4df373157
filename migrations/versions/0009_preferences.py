"""Per-user preferences (language, e-mail per kind, daily digest) and the English twin of a notification.

Revision ID: 0009_preferences
Revises: 0008_security
"""

from alembic import op
import sqlalchemy as sa

revision = "0009_preferences"
down_revision = "0008_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False, server_default="vi"),
        sa.Column("mail_assignment", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("mail_reminder", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("mail_overdue", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("mail_publication", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("mail_appeal", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("daily_digest", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("digest_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_preferences")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_en", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("message_en")
    op.drop_table("user_preferences")
