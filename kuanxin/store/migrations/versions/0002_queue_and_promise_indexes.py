"""Indexes for the console queue (status, priority, time) and the day-after promise follow-up.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:07:47.106823
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_escalations_status_priority_created', 'escalations', ['status', 'priority', 'created_at'], unique=False)
    op.create_index('ix_promises_status_date', 'payment_promises', ['status', 'promised_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_promises_status_date', table_name='payment_promises')
    op.drop_index('ix_escalations_status_priority_created', table_name='escalations')
