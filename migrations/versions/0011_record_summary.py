"""The city dashboard's monthly summary: record counts and score sums per (period, status, level,
published) and per (period, unit, status, level, published), kept by triggers on evaluation_records (a delta row per change, folded by the worker), and
filled from the records already there; and the worker's latest count of the city's overdue tasks per open
month.

Revision ID: 0011_record_summary
Revises: 0010_account_tokens
"""

from alembic import op
import sqlalchemy as sa

revision = "0011_record_summary"
down_revision = "0010_account_tokens"
branch_labels = None
depends_on = None


def _row(rec: str, sign: str) -> str:
    return (
        f"({rec}.period, {rec}.unit_id, {rec}.status, coalesce({rec}.level, ''), "
        f"CASE WHEN {rec}.published_at IS NULL THEN 0 ELSE 1 END, {sign}1, "
        f"{sign}(CASE WHEN {rec}.total IS NULL THEN 0 ELSE 1 END), {sign}coalesce({rec}.total, 0))"
    )


_INSERT = "INSERT INTO record_summary_delta (period, unit_id, status, level, published, dn, dn_total, dsum) VALUES "
_MOVED = (
    "(OLD.period, OLD.unit_id, OLD.status, OLD.level, OLD.published_at IS NULL, OLD.total) IS DISTINCT FROM "
    "(NEW.period, NEW.unit_id, NEW.status, NEW.level, NEW.published_at IS NULL, NEW.total)"
)

PG_UP = f"""
CREATE OR REPLACE FUNCTION evaluation_records_summary_delta() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {_INSERT}{_row("OLD", "-")};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {_INSERT}{_row("NEW", "+")};
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER evaluation_records_summary_insert_delete AFTER INSERT OR DELETE ON evaluation_records
    FOR EACH ROW EXECUTE FUNCTION evaluation_records_summary_delta();
CREATE TRIGGER evaluation_records_summary_update AFTER UPDATE ON evaluation_records
    FOR EACH ROW WHEN ({_MOVED}) EXECUTE FUNCTION evaluation_records_summary_delta();
"""

# SQLite: `IS NOT` compares NULLs as values, like IS DISTINCT FROM. A later migration that rebuilds
# evaluation_records on SQLite (batch mode copies the table) must create these triggers again.
SQLITE_UP = [
    f"CREATE TRIGGER evaluation_records_summary_insert AFTER INSERT ON evaluation_records "
    f"BEGIN {_INSERT}{_row('NEW', '+')}; END",
    f"CREATE TRIGGER evaluation_records_summary_delete AFTER DELETE ON evaluation_records "
    f"BEGIN {_INSERT}{_row('OLD', '-')}; END",
    f"CREATE TRIGGER evaluation_records_summary_update AFTER UPDATE ON evaluation_records "
    f"WHEN OLD.period IS NOT NEW.period OR OLD.unit_id IS NOT NEW.unit_id OR OLD.status IS NOT NEW.status OR OLD.level IS NOT NEW.level "
    f"OR (OLD.published_at IS NULL) IS NOT (NEW.published_at IS NULL) OR OLD.total IS NOT NEW.total "
    f"BEGIN {_INSERT}{_row('OLD', '-')}; {_INSERT}{_row('NEW', '+')}; END",
]


def _backfill(table: str, unit: str) -> str:
    return (
        f"INSERT INTO {table} (period, {unit}status, level, published, n, n_total, sum_total) "
        f"SELECT period, {unit}status, coalesce(level, ''), CASE WHEN published_at IS NULL THEN 0 ELSE 1 END, "
        "count(*), count(total), coalesce(sum(total), 0) FROM evaluation_records "
        f"GROUP BY period, {unit}status, coalesce(level, ''), CASE WHEN published_at IS NULL THEN 0 ELSE 1 END"
    )


def upgrade():
    op.create_table(
        "record_summary",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("published", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_total", sa.Integer(), nullable=False),
        sa.Column("sum_total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("period", "status", "level", "published", name=op.f("pk_record_summary")),
    )
    op.create_table(
        "record_unit_summary",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("published", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_total", sa.Integer(), nullable=False),
        sa.Column("sum_total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "unit_id", "status", "level", "published", name=op.f("pk_record_unit_summary")
        ),
    )
    op.create_table(
        "record_summary_delta",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("published", sa.SmallInteger(), nullable=False),
        sa.Column("dn", sa.Integer(), nullable=False),
        sa.Column("dn_total", sa.Integer(), nullable=False),
        sa.Column("dsum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_summary_delta")),
    )
    op.create_table(
        "overdue_snapshots",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.JSON(), nullable=False),
        sa.Column("holders", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_overdue_snapshots")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UP)
    else:
        for statement in SQLITE_UP:
            op.execute(statement)
    op.execute(_backfill("record_summary", ""))
    op.execute(_backfill("record_unit_summary", "unit_id, "))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evaluation_records_summary_update ON evaluation_records")
        op.execute("DROP TRIGGER IF EXISTS evaluation_records_summary_insert_delete ON evaluation_records")
        op.execute("DROP FUNCTION IF EXISTS evaluation_records_summary_delta()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS evaluation_records_summary_{name}")
    op.drop_table("overdue_snapshots")
    op.drop_table("record_summary_delta")
    op.drop_table("record_unit_summary")
    op.drop_table("record_summary")
