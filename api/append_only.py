"""Append-only audit tables, enforced by the database itself.

The ORM refuses updates and deletes on these tables (``api/tables.py``), but a bulk SQL
statement, a console session or another program bypasses the ORM. Triggers make the
database refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on every audit table, so a
decision, a vetting event or a delivery, once written, can only be corrected by a new row.

Both the migrations (existing databases) and ``SQLModel.metadata.create_all`` (fresh test
databases, through DDL events in ``api/tables.py``) create the triggers from here.
"""

from __future__ import annotations

# Tables whose rows are never changed or removed once written.
APPEND_ONLY_TABLES: tuple[str, ...] = ("curation_decision", "vetting_event", "delivery",
                                       "challenge_event", "delivery_evidence", "plan_event")

# No percent placeholder in the message: drivers with pyformat parameters read it as one.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION sroi_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = TG_TABLE_NAME
    || ' is append-only: record a new row instead of changing or deleting one';
END
$$
"""


def trigger_statements(table: str, dialect: str) -> list[str]:
    """SQL that makes ``table`` append-only on ``dialect`` ('sqlite' or 'postgresql');
    idempotent, so running it twice is harmless."""
    if dialect == "sqlite":
        message = f"{table} is append-only: record a new row instead of changing or deleting one"
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            _PG_FUNCTION,
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION sroi_refuse_change()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION sroi_refuse_change()",
        ]
    raise ValueError(f"append-only triggers are not defined for the {dialect} dialect")


def drop_statements(table: str, dialect: str) -> list[str]:
    """SQL that removes the triggers again (a migration's downgrade)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for verb in ("update", "delete")]
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"]
    raise ValueError(f"append-only triggers are not defined for the {dialect} dialect")
