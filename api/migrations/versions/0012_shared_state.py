# ruff: noqa: E501  (alembic's generated layout)
"""shared state: a version counter per topic and failed logins, shared by every web process

Revision ID: 0012_shared_state
Revises: 0011_directory
Create Date: 2026-12-03 09:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_shared_state'
down_revision: str | Sequence[str] | None = '0011_directory'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    version = op.create_table('app_state_version',
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('topic')
    )
    # The rows exist from the start: a first bump by two processes at once must not race
    # to insert them (api/shared_state.py only updates).
    op.bulk_insert(version, [{'topic': 'data', 'version': 0}])
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_login_attempt_key'), 'login_attempt', ['key'], unique=False)
    op.create_index(op.f('ix_login_attempt_at'), 'login_attempt', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_login_attempt_at'), table_name='login_attempt')
    op.drop_index(op.f('ix_login_attempt_key'), table_name='login_attempt')
    op.drop_table('login_attempt')
    op.drop_table('app_state_version')
