"""Configurable rules: calendar days, schemes and their assignment, delegations, acting
appointments, memberships; records keep their scheme version and a not-evaluated reason.

Revision ID: 0003_rules
Revises: 0002_mail_outbox
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_rules"
down_revision = "0002_mail_outbox"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_calendar_days_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_days")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_days_day")),
    )
    op.create_table(
        "schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("effective_from", sa.String(length=7), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_schemes_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schemes")),
        sa.UniqueConstraint("code", "version", name="uq_schemes_code_version"),
    )
    op.create_table(
        "scheme_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("scheme_code", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_scheme_assignments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme_assignments")),
        sa.UniqueConstraint("unit_id", "effective_from", name="uq_scheme_assignments_unit_from"),
    )
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_delegations_created_by_id_users")),
        sa.ForeignKeyConstraint(["deputy_id"], ["users.id"], name=op.f("fk_delegations_deputy_id_users")),
        sa.ForeignKeyConstraint(["principal_id"], ["users.id"], name=op.f("fk_delegations_principal_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegations_deputy_id"), ["deputy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delegations_principal_id"), ["principal_id"], unique=False)
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_appointments_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_appointments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_unit_id"), ["unit_id"], unique=False)
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_memberships_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_memberships_unit_dates", ["unit_id", "start"], unique=False)
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("not_evaluated_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_evaluation_records_scheme_id_schemes"), "schemes", ["scheme_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("evaluation_records", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_evaluation_records_scheme_id_schemes"), type_="foreignkey")
        batch_op.drop_column("not_evaluated_reason")
        batch_op.drop_column("scheme_id")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_memberships_unit_dates")
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))
    op.drop_table("memberships")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_unit_id"))
    op.drop_table("appointments")
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegations_principal_id"))
        batch_op.drop_index(batch_op.f("ix_delegations_deputy_id"))
    op.drop_table("delegations")
    op.drop_table("scheme_assignments")
    op.drop_table("schemes")
    op.drop_table("calendar_days")
