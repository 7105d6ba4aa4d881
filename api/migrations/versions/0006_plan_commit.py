# ruff: noqa: E501  (alembic's generated layout)
"""plans commit: the append-only log of plans committed and uncommitted

Revision ID: 0006_plan_commit
Revises: 0004_curation
Create Date: 2026-12-02 21:40:00

``allocation.status`` (planned | committed) already exists; committing or uncommitting a
plan is recorded in ``plan_event``, which the database keeps append-only.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.append_only import drop_statements, trigger_statements

revision: str = '0006_plan_commit'
down_revision: str | Sequence[str] | None = '0004_curation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('plan_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('obligation_ref', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_plan_event_obligation_ref'), 'plan_event', ['obligation_ref'], unique=False)
    op.create_index(op.f('ix_plan_event_decided_at'), 'plan_event', ['decided_at'], unique=False)
    for statement in trigger_statements("plan_event", op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements("plan_event", op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index(op.f('ix_plan_event_decided_at'), table_name='plan_event')
    op.drop_index(op.f('ix_plan_event_obligation_ref'), table_name='plan_event')
    op.drop_table('plan_event')
