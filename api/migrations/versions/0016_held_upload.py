# ruff: noqa: E501  (alembic's generated layout)
"""held upload: a refused ledger upload's file, kept for the user's next try, in the
database instead of the web process's disk (issue #17: the next request may reach another
process or host)

Revision ID: 0016_held_upload
Revises: 0015_render_cache
Create Date: 2026-12-03 20:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016_held_upload'
down_revision: str | Sequence[str] | None = '0015_render_cache'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('held_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_held_upload_token'), 'held_upload', ['token'], unique=False)
    op.create_index(op.f('ix_held_upload_user_id'), 'held_upload', ['user_id'], unique=False)
    op.create_index(op.f('ix_held_upload_created_at'), 'held_upload', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_held_upload_created_at'), table_name='held_upload')
    op.drop_index(op.f('ix_held_upload_user_id'), table_name='held_upload')
    op.drop_index(op.f('ix_held_upload_token'), table_name='held_upload')
    op.drop_table('held_upload')
