# ruff: noqa: E501  (alembic's generated layout)
"""money: delivery reversals, unplanned deliveries, who recorded them; delivery evidence

Revision ID: 0005_money
Revises: 0003_challenge_workflow
Create Date: 2026-12-02 20:45:00

A delivery is corrected by a reversal row (never an edit), so ``delivery`` gains the
row's kind, the reversed row, the reason and who recorded it; evidence files live in the
append-only ``delivery_evidence``. Columns are added with ALTER TABLE (no batch rebuild),
and the delivery triggers are written again anyway (idempotent) in case a backend rebuilt
the table.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.append_only import drop_statements, trigger_statements

revision: str = '0005_money'
down_revision: str | Sequence[str] | None = '0003_challenge_workflow'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = ("kind", "part", "reverses_id", "unplanned", "reason", "recorded_by")


def upgrade() -> None:
    op.add_column('delivery', sa.Column('kind', sa.String(length=20), nullable=False, server_default='delivery'))
    op.add_column('delivery', sa.Column('part', sa.String(length=20), nullable=False, server_default='purchase'))
    op.add_column('delivery', sa.Column('reverses_id', sa.Integer(), nullable=True))
    op.add_column('delivery', sa.Column('unplanned', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('delivery', sa.Column('reason', sa.String(), nullable=False, server_default=''))
    op.add_column('delivery', sa.Column('recorded_by', sa.String(length=200), nullable=False, server_default=''))
    op.create_index(op.f('ix_delivery_reverses_id'), 'delivery', ['reverses_id'], unique=False)
    op.create_table('delivery_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_delivery_evidence_delivery_id'), 'delivery_evidence', ['delivery_id'], unique=False)
    dialect = op.get_bind().dialect.name
    for table in ("delivery", "delivery_evidence"):
        for statement in trigger_statements(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_statements("delivery_evidence", dialect):
        op.execute(statement)
    op.drop_index(op.f('ix_delivery_evidence_delivery_id'), table_name='delivery_evidence')
    op.drop_table('delivery_evidence')
    op.drop_index(op.f('ix_delivery_reverses_id'), table_name='delivery')
    # Dropping columns rebuilds the table on SQLite (batch mode), which drops its triggers.
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        for column in reversed(NEW_COLUMNS):
            batch_op.drop_column(column)
    for statement in trigger_statements("delivery", dialect):
        op.execute(statement)
