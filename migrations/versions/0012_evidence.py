"""Evidence (minh chứng: files and links) on a record or a plan item, and the comment threads.

Revision ID: 0012_evidence
Revises: 0011_record_summary
"""

from alembic import op
import sqlalchemy as sa

revision = "0012_evidence"
down_revision = "0011_record_summary"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=128), nullable=True),
        sa.Column("storage", sa.String(length=8), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_evidence_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_evidence_uploaded_by_id_users")),
        sa.ForeignKeyConstraint(["deleted_by_id"], ["users.id"], name=op.f("fk_evidence_deleted_by_id_users")),
        sa.ForeignKeyConstraint(["replaces_id"], ["evidence.id"], name=op.f("fk_evidence_replaces_id_evidence")),
        sa.ForeignKeyConstraint(["replaced_by_id"], ["evidence.id"], name=op.f("fk_evidence_replaced_by_id_evidence")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_index("ix_evidence_instance", "evidence", ["instance_id", "item_id"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("on_behalf_of_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_comments_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users")),
        sa.ForeignKeyConstraint(["on_behalf_of_id"], ["users.id"], name=op.f("fk_comments_on_behalf_of_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index("ix_comments_instance", "comments", ["instance_id", "item_id", "id"])


def downgrade():
    op.drop_index("ix_comments_instance", table_name="comments")
    op.drop_table("comments")
    op.drop_index("ix_evidence_instance", table_name="evidence")
    op.drop_table("evidence")
