"""Reminders and opt-outs, conversation sessions (analytics), and the promise follow-up date.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:50:56.842172
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.models import ExactDecimal

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_conversation_sessions_borrower_id'), 'conversation_sessions', ['borrower_id'], unique=False)
    op.create_index('ix_sessions_conversation_started', 'conversation_sessions', ['conversation_id', 'started_at'], unique=False)
    op.create_index('ix_sessions_started', 'conversation_sessions', ['started_at'], unique=False)
    op.create_table('reminder_opt_outs',
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('borrower_id')
    )
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('segment', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=40), nullable=False),
    sa.Column('amount', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('borrower_id', 'day', name='uq_reminders_borrower_day')
    )
    op.create_index('ix_reminders_day_status', 'reminders', ['day', 'status'], unique=False)
    op.add_column('payment_promises', sa.Column('followed_up_on', sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column('payment_promises', 'followed_up_on')
    op.drop_index('ix_reminders_day_status', table_name='reminders')
    op.drop_table('reminders')
    op.drop_table('reminder_opt_outs')
    op.drop_index('ix_sessions_started', table_name='conversation_sessions')
    op.drop_index('ix_sessions_conversation_started', table_name='conversation_sessions')
    op.drop_index(op.f('ix_conversation_sessions_borrower_id'), table_name='conversation_sessions')
    op.drop_table('conversation_sessions')
