# ruff: noqa: E501  (alembic's generated layout)
"""Challenge workflow: pitches and pilots; stage history moves from JSON into events

Revision ID: 0003_challenge_workflow
Revises: 0002_append_only
Create Date: 2026-12-02 20:45:00

A Challenge's stage history used to be ``extra["status_history"]`` (a JSON list the CRUD
API could replace); it is copied into the append-only ``challenge_event`` table and the
JSON key is dropped, so the events are the only history.
"""
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0003_challenge_workflow'
down_revision: str | Sequence[str] | None = '0002_append_only'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('challenge_pitch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_ref', sa.String(length=100), nullable=False),
    sa.Column('enterprise_ref', sa.String(length=100), nullable=False),
    sa.Column('partners', sa.JSON(), nullable=False),
    sa.Column('approach', sa.String(), nullable=False),
    sa.Column('team', sa.String(), nullable=False),
    sa.Column('budget_eur', sa.Float(), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('challenge_ref', 'enterprise_ref')
    )
    with op.batch_alter_table('challenge_pitch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_pitch_challenge_ref'), ['challenge_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_pitch_enterprise_ref'), ['enterprise_ref'], unique=False)

    op.create_table('challenge_pilot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_ref', sa.String(length=100), nullable=False),
    sa.Column('pitch_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('weeks', sa.Integer(), nullable=False),
    sa.Column('budget_eur', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(), nullable=False),
    sa.Column('selected_by', sa.String(length=200), nullable=False),
    sa.Column('selected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evaluated_by', sa.String(length=200), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('challenge_ref', 'pitch_id')
    )
    with op.batch_alter_table('challenge_pilot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_pilot_challenge_ref'), ['challenge_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_pilot_pitch_id'), ['pitch_id'], unique=False)

    _history_to_events()


def _when(raw: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(raw))
    except ValueError:
        at = datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _history_to_events() -> None:
    bind = op.get_bind()
    challenge = sa.table('challenge', sa.column('id', sa.Integer()), sa.column('ref', sa.String()),
                         sa.column('extra', sa.JSON()))
    events = sa.table('challenge_event', sa.column('challenge_ref', sa.String()),
                      sa.column('from_status', sa.String()), sa.column('to_status', sa.String()),
                      sa.column('reason', sa.String()), sa.column('decided_by', sa.String()),
                      sa.column('decided_at', sa.DateTime(timezone=True)))
    for cid, ref, extra in bind.execute(sa.select(challenge.c.id, challenge.c.ref, challenge.c.extra)).all():
        extra = json.loads(extra) if isinstance(extra, str) else extra
        if not isinstance(extra, dict) or "status_history" not in extra:
            continue
        history = extra.pop("status_history")
        for h in history if isinstance(history, list) else []:
            if not isinstance(h, dict) or not h.get("to"):
                continue
            bind.execute(events.insert().values(
                challenge_ref=ref, from_status=h.get("from"), to_status=str(h["to"])[:20],
                reason=str(h.get("reason") or ""), decided_by=str(h.get("by") or "")[:200],
                decided_at=_when(h.get("at"))))
        bind.execute(challenge.update().where(challenge.c.id == cid).values(extra=extra))


def downgrade() -> None:
    # The events stay: they are the audit trail (and append-only).
    with op.batch_alter_table('challenge_pilot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_pilot_pitch_id'))
        batch_op.drop_index(batch_op.f('ix_challenge_pilot_challenge_ref'))
    op.drop_table('challenge_pilot')
    with op.batch_alter_table('challenge_pitch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_pitch_enterprise_ref'))
        batch_op.drop_index(batch_op.f('ix_challenge_pitch_challenge_ref'))
    op.drop_table('challenge_pitch')
