# ruff: noqa: E501  (alembic's generated layout)
"""import heartbeat: an import or ledger upload job's worker on another host is known
dead by its silence (issue #17: a killed worker's job is failed, never left running)

Revision ID: 0014_import_heartbeat
Revises: 0012_shared_state
Create Date: 2026-12-03 20:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_import_heartbeat'
down_revision: str | Sequence[str] | None = '0012_shared_state'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
