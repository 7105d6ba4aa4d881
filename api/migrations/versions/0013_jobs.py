# ruff: noqa: E501  (alembic's generated layout)
"""jobs: background jobs on the queue (allocation, learning, batch ranking) and the batch
ranking's results

Revision ID: 0013_jobs
Revises: 0010_ledger_access
Create Date: 2026-12-03 09:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_jobs'
down_revision: str | Sequence[str] | None = '0010_ledger_access'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_by_email', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('runner', sa.String(length=200), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_job_kind'), 'job', ['kind'], unique=False)
    op.create_index(op.f('ix_job_created_by'), 'job', ['created_by'], unique=False)
    op.create_index(op.f('ix_job_state'), 'job', ['state'], unique=False)
    op.create_index(op.f('ix_job_created_at'), 'job', ['created_at'], unique=False)
    op.create_table('tender_ranking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('tender_ref', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enterprise_ref', sa.String(length=100), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_tender_ranking_job_id'), 'tender_ranking', ['job_id'], unique=False)
    op.create_index(op.f('ix_tender_ranking_tender_ref'), 'tender_ranking', ['tender_ref'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tender_ranking_tender_ref'), table_name='tender_ranking')
    op.drop_index(op.f('ix_tender_ranking_job_id'), table_name='tender_ranking')
    op.drop_table('tender_ranking')
    op.drop_index(op.f('ix_job_created_at'), table_name='job')
    op.drop_index(op.f('ix_job_state'), table_name='job')
    op.drop_index(op.f('ix_job_created_by'), table_name='job')
    op.drop_index(op.f('ix_job_kind'), table_name='job')
    op.drop_table('job')
