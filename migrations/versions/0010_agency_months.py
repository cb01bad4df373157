"""The agency's month: the exceptional-month marking (tháng đặc biệt), its reason, who made it (and on
whose behalf) and when, applied to every later decision of that agency-month.

Revision ID: 0010_agency_months
Revises: 0009_preferences
"""

from alembic import op
import sqlalchemy as sa

revision = "0010_agency_months"
down_revision = "0009_preferences"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agency_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("exceptional_reason", sa.Text(), nullable=True),
        sa.Column("exceptional_by_id", sa.Integer(), nullable=True),
        sa.Column("exceptional_on_behalf_of_id", sa.Integer(), nullable=True),
        sa.Column("exceptional_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["units.id"], name=op.f("fk_agency_months_agency_id_units")),
        sa.ForeignKeyConstraint(
            ["exceptional_by_id"], ["users.id"], name=op.f("fk_agency_months_exceptional_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["exceptional_on_behalf_of_id"],
            ["users.id"],
            name=op.f("fk_agency_months_exceptional_on_behalf_of_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_months")),
        sa.UniqueConstraint("agency_id", "period", name="uq_agency_months_agency_period"),
    )


def downgrade():
    op.drop_table("agency_months")
