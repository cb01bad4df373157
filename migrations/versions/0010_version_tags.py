"""Process versions: release notes (longer than the one-line note) and tags.

Revision ID: 0010_version_tags
Revises: 0009_preferences
"""

from alembic import op
import sqlalchemy as sa

revision = "0010_version_tags"
down_revision = "0010_agency_months"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("tags", sa.String(length=255), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_column("tags")
        batch_op.drop_column("notes")
