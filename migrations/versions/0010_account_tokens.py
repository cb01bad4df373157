"""Account activation and password reset: single-use secrets stored as their SHA-256.

Revision ID: 0010_account_tokens
Revises: 0009_preferences
"""

from alembic import op
import sqlalchemy as sa

revision = "0010_account_tokens"
down_revision = "0010_version_tags"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_account_tokens_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index("ix_account_tokens_user", "account_tokens", ["user_id", "purpose", "used_at"])


def downgrade():
    op.drop_index("ix_account_tokens_user", table_name="account_tokens")
    op.drop_table("account_tokens")
