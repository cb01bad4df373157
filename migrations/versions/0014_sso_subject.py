"""The city account a person signed in with (issuer and subject), so that a later sign-in is matched by
the provider's stable subject and not by a username or an e-mail address the provider may hand to someone
else.

Revision ID: 0014_sso_subject
Revises: 0013_work_plans
"""

from alembic import op
import sqlalchemy as sa

revision = "0014_sso_subject"
down_revision = "0013_work_plans"
branch_labels = None
depends_on = None


def upgrade():
    # A unique index rather than a unique constraint: on SQLite a constraint makes the batch recreate the
    # users table, and the copy would lose the expression index ix_users_full_name_trgm (0006). Adding a
    # nullable column alone is a plain ALTER TABLE on both databases.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=300), nullable=True))
    op.create_index("ix_users_sso_subject", "users", ["sso_subject"], unique=True)


def downgrade():
    op.drop_index("ix_users_sso_subject", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("sso_subject")
    if op.get_bind().dialect.name == "sqlite":
        # dropping a column recreates the table on SQLite, without the expression index 0006 made
        op.execute("CREATE INDEX IF NOT EXISTS ix_users_full_name_trgm ON users (lower(full_name))")
