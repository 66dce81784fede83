"""Payments told in an open conversation (issue 19, item 2): every web process looks every few seconds for payments
received in the last minutes (kuanxin/outbound/payment_news.py); an index on payments.received_at keeps that a
range read instead of a scan of the whole ledger.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:05:00
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_payments_received_at', 'payments', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_payments_received_at', table_name='payments')
