"""The payment ledger: one row per lender payment, what the ledger applied on each schedule row, and the
batches the lender pushed (by idempotency key).

Existing rows' `paid` becomes their opening figure (what was paid before the ledger began).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 06:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.models import ExactDecimal

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MONEY = ExactDecimal(precision=14, scale=2)  # text on SQLite, NUMERIC elsewhere


def upgrade() -> None:
    op.create_table('payments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('amount', MONEY, nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('reverses', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_payments_loan_paid_on', 'payments', ['loan_id', 'paid_on'], unique=False)
    op.create_table('inbound_batches',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.add_column('loans', sa.Column('credit', MONEY, server_default='0', nullable=False))
    for name in ('opening_paid', 'paid_penalty', 'paid_late_fee', 'penalty_accrued'):
        op.add_column('schedule_rows', sa.Column(name, MONEY, server_default='0', nullable=False))
    op.add_column('schedule_rows', sa.Column('accrued_to', sa.Date(), nullable=True))
    op.add_column('schedule_rows', sa.Column('late_fee_charged', sa.Boolean(), server_default=sa.false(),
                                             nullable=False))
    op.execute("UPDATE schedule_rows SET opening_paid = paid")


def downgrade() -> None:
    with op.batch_alter_table('schedule_rows') as batch:
        for name in ('late_fee_charged', 'accrued_to', 'penalty_accrued', 'paid_late_fee', 'paid_penalty',
                     'opening_paid'):
            batch.drop_column(name)
    with op.batch_alter_table('loans') as batch:
        batch.drop_column('credit')
    op.drop_table('inbound_batches')
    op.drop_index('ix_payments_loan_paid_on', table_name='payments')
    op.drop_table('payments')
