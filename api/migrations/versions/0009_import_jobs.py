# ruff: noqa: E501  (alembic's generated layout)
"""import jobs: imports run in the background, with their files until they end

Revision ID: 0009_import_jobs
Revises: 0008_ledgers
Create Date: 2026-12-03 06:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_import_jobs'
down_revision: str | Sequence[str] | None = '0008_ledgers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=40), nullable=False),
    sa.Column('on_duplicate', sa.String(length=20), nullable=False),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('only_buyer', sa.String(length=300), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('error', sa.String(), nullable=False),
    sa.Column('fingerprints', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('runner', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_import_job_created_by'), 'import_job', ['created_by'], unique=False)
    op.create_index(op.f('ix_import_job_state'), 'import_job', ['state'], unique=False)
    op.create_index(op.f('ix_import_job_created_at'), 'import_job', ['created_at'], unique=False)
    op.create_table('import_job_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_import_job_file_job_id'), 'import_job_file', ['job_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_import_job_file_job_id'), table_name='import_job_file')
    op.drop_table('import_job_file')
    op.drop_index(op.f('ix_import_job_created_at'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_state'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_created_by'), table_name='import_job')
    op.drop_table('import_job')
