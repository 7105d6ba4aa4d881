# ruff: noqa: E501  (alembic's generated layout)
"""render cache: the rendered fragments every reader shares, shared by the web processes
(api/services/shared_cache.py, on PostgreSQL without Redis)

Revision ID: 0015_render_cache
Revises: 0014_import_heartbeat
Create Date: 2026-12-03 20:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_render_cache'
down_revision: str | Sequence[str] | None = '0014_import_heartbeat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: a cache needs no write-ahead log (no fsync per entry
    # written); a crash empties it, which only costs rebuilding.
    op.create_table('render_cache_entry',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('stored_at', sa.Float(), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    prefixes=['UNLOGGED'] if op.get_bind().dialect.name == 'postgresql' else []
    )
    op.create_index(op.f('ix_render_cache_entry_version'), 'render_cache_entry', ['version'], unique=False)
    op.create_index(op.f('ix_render_cache_entry_stored_at'), 'render_cache_entry', ['stored_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_render_cache_entry_stored_at'), table_name='render_cache_entry')
    op.drop_index(op.f('ix_render_cache_entry_version'), table_name='render_cache_entry')
    op.drop_table('render_cache_entry')
