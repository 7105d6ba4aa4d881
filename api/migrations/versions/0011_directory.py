# ruff: noqa: E501  (alembic's generated layout)
"""directory (#16 item 7): enterprise contact details, a user's active flag, notifications
marked as read

Revision ID: 0011_directory
Revises: 0013_jobs
Create Date: 2026-12-03 09:17:11
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_directory'
down_revision: str | Sequence[str] | None = '0013_jobs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_read',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'key')
    )
    with op.batch_alter_table('notification_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_read_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=300), nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        # Existing accounts stay active.
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('active')

    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.drop_column('website')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_name')

    with op.batch_alter_table('notification_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_read_user_id'))

    op.drop_table('notification_read')
