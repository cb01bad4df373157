"""Work plans: the month's registered work items per evaluation (issue #14).

Revision ID: 0013_work_plans
Revises: 0012_evidence
"""

import copy
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = "0013_work_plans"
down_revision = "0012_evidence"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("product", sa.String(length=500), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("delays", sa.Integer(), nullable=False),
        sa.Column("major_errors", sa.Integer(), nullable=False),
        sa.Column("objective_cause", sa.Boolean(), nullable=False),
        sa.Column("objective_reason", sa.Text(), nullable=True),
        sa.Column("objective_confirmed", sa.Boolean(), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_plan_items_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["subject_id"], ["users.id"], name=op.f("fk_plan_items_subject_id_users")),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_plan_items_added_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_items")),
    )
    op.create_index("ix_plan_items_instance", "plan_items", ["instance_id", "position"])
    op.create_index("ix_plan_items_period_subject", "plan_items", ["period", "subject_id"])
    with op.batch_alter_table("evaluation_records") as batch:
        batch.add_column(sa.Column("kpi", sa.JSON(), nullable=True))
    _schemes_with_sources()


# Where the shipped schemes' task criteria take their points from (as app/rules/schemes.py ships them). A
# database seeded before this revision gets one new version of each shipped scheme that has none, from the
# same period as its latest version: months already open keep the criteria they copied.
LEADER_335 = ["plan:quantity", "plan:quality", "plan:timeliness", "unit_results", "capacity"]
SOURCES = {
    "hanoi-monthly": {
        "staff": {"II.1": "plan:quantity", "II.2": "plan:quality", "II.3": "plan:timeliness"},
        "contract": {"II.1": "plan:quantity", "II.2": "plan:quality", "II.3": "plan:timeliness"},
        "leader": {"II.1": "plan:all"},
    },
    "nd335-2025": {
        "staff": {"II.1": "plan:all", "II.2": "plan:all", "II.3": "plan:all"},
        "contract": {"II.1": "plan:all", "II.2": "plan:all", "II.3": "plan:all"},
        "leader": {"II.1": LEADER_335, "II.2": LEADER_335, "II.3": LEADER_335},
    },
}


def _schemes_with_sources():
    bind = op.get_bind()
    schemes = sa.table(
        "schemes",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("version", sa.Integer),
        sa.column("name", sa.String),
        sa.column("effective_from", sa.String),
        sa.column("definition", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for code, by_group in SOURCES.items():
        latest = bind.execute(
            sa.select(schemes).where(schemes.c.code == code).order_by(schemes.c.version.desc()).limit(1)
        ).first()
        if latest is None:
            continue
        definition = copy.deepcopy(latest.definition)
        if any("source" in c for rows in definition.get("criteria", {}).values() for c in rows):
            continue
        for group, rows in definition.get("criteria", {}).items():
            for row in rows:
                source = by_group.get(group, {}).get(row.get("code"))
                if source is not None:
                    row["source"] = source
        bind.execute(
            schemes.insert().values(
                code=code,
                version=latest.version + 1,
                name=latest.name,
                effective_from=latest.effective_from,
                definition=definition,
                created_at=datetime.now(timezone.utc),
            )
        )


def downgrade():
    with op.batch_alter_table("evaluation_records") as batch:
        batch.drop_column("kpi")
    op.drop_index("ix_plan_items_period_subject", table_name="plan_items")
    op.drop_index("ix_plan_items_instance", table_name="plan_items")
    op.drop_table("plan_items")
