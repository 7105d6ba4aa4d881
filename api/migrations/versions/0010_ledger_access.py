# ruff: noqa: E501  (alembic's generated layout)
"""ledger access: a firm's grants to connectors (one connector, or every connector of an
organisation) to see its ledgers; the parameters of a background job that is not a
registry import (a ledger upload's firm, column mapping and obligation) (issue #15)

Revision ID: 0010_ledger_access
Revises: 0009_import_jobs
Create Date: 2026-12-03 09:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_ledger_access'
down_revision: str | Sequence[str] | None = '0009_import_jobs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm', sa.String(length=300), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=True),
    sa.Column('connector_org', sa.String(length=300), nullable=True),
    sa.Column('granted_by', sa.String(length=200), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ledger_access_firm'), 'ledger_access', ['firm'], unique=False)
    op.create_index(op.f('ix_ledger_access_connector_id'), 'ledger_access', ['connector_id'], unique=False)
    op.create_index(op.f('ix_ledger_access_connector_org'), 'ledger_access', ['connector_org'], unique=False)
    # Existing jobs get empty parameters (the server default fills them, then goes: the
    # model has none, and tests/test_migrations.py compares the two).
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.alter_column('params', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('params')
    op.drop_index(op.f('ix_ledger_access_connector_org'), table_name='ledger_access')
    op.drop_index(op.f('ix_ledger_access_connector_id'), table_name='ledger_access')
    op.drop_index(op.f('ix_ledger_access_firm'), table_name='ledger_access')
    op.drop_table('ledger_access')
