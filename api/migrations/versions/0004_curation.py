# ruff: noqa: E501  (alembic's generated layout)
"""curation takes effect: decisions record an override; labelled evaluation sets

Revision ID: 0004_curation
Revises: 0005_money
Create Date: 2026-12-02 21:00:00

``curation_decision`` is an append-only table with triggers: the column is added with a
plain ALTER TABLE (SQLite's batch mode would rebuild the table and drop its triggers).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_curation'
down_revision: str | Sequence[str] | None = '0005_money'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('curation_decision',
                  sa.Column('override', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('label_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_label_set_loaded_at'), 'label_set', ['loaded_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_label_set_loaded_at'), table_name='label_set')
    op.drop_table('label_set')
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        # DROP COLUMN on SQLite (3.35+) keeps the table and its triggers.
        op.execute('ALTER TABLE curation_decision DROP COLUMN override')
    else:
        op.drop_column('curation_decision', 'override')
