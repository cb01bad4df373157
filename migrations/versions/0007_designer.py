"""Designer: drafts of process versions edited in the browser.

Revision ID: 0007_designer
Revises: 0006_monitor
"""

from alembic import op
import sqlalchemy as sa

revision = "0007_designer"
down_revision = "0006_monitor"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "process_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_version_id"],
            ["process_versions.id"],
            name=op.f("fk_process_drafts_base_version_id_process_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["published_version_id"],
            ["process_versions.id"],
            name=op.f("fk_process_drafts_published_version_id_process_versions"),
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_process_drafts_created_by_id_users")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_process_drafts_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_drafts")),
    )
    with op.batch_alter_table("process_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_process_drafts_process_key"), ["process_key"], unique=False)


def downgrade():
    with op.batch_alter_table("process_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_drafts_process_key"))
    op.drop_table("process_drafts")
