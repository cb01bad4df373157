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
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint("uq_users_sso_subject", ["sso_subject"])


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_sso_subject", type_="unique")
        batch_op.drop_column("sso_subject")
