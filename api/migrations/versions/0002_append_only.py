# ruff: noqa: E501  (alembic's generated layout)
"""append-only audit tables: database triggers; Challenge stage events

Revision ID: 0002_append_only
Revises: 0001_initial
Create Date: 2026-12-02 20:10:00

The ORM already refused updates and deletes on the audit tables; from here on the
database refuses them too, for raw SQL as well (api/append_only.py). Note for later
migrations: SQLite's batch mode rebuilds a table it alters, which drops its triggers;
a migration that alters one of these tables must run ``trigger_statements`` again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.append_only import drop_statements, trigger_statements

revision: str = '0002_append_only'
down_revision: str | Sequence[str] | None = '0001_initial'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit tables as of this revision (the list in api/append_only.py may grow later).
TABLES = ("curation_decision", "vetting_event", "delivery", "challenge_event")


def upgrade() -> None:
    op.create_table('challenge_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_ref', sa.String(length=100), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('challenge_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_event_challenge_ref'), ['challenge_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_event_decided_at'), ['decided_at'], unique=False)
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in trigger_statements(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for statement in drop_statements(table, dialect):
            op.execute(statement)
    with op.batch_alter_table('challenge_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_event_decided_at'))
        batch_op.drop_index(batch_op.f('ix_challenge_event_challenge_ref'))
    op.drop_table('challenge_event')
