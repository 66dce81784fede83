"""Account classes kept in a table (refreshed nightly and by the sync) instead of computed on every view.

The class names are written out here, not imported: this revision stays what it was when the vocabulary grows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SEGMENTS = ('upcoming', 'early', 'middle', 'late', 'litigation', 'settled', 'current')


def upgrade() -> None:
    op.create_table('account_classes',
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.String(length=20), nullable=False),
    sa.Column('size', sa.String(length=10), nullable=False),
    sa.Column('days_overdue', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.CheckConstraint(f"segment IN ({', '.join(repr(s) for s in SEGMENTS)})", name='ck_account_classes_segment'),
    sa.CheckConstraint("size IN ('small', 'large')", name='ck_account_classes_size'),
    sa.PrimaryKeyConstraint('borrower_id')
    )
    op.create_index('ix_account_classes_cell', 'account_classes', ['segment', 'size', 'amount_cents', 'days_overdue',
                                                          'borrower_id'],
                    unique=False)
    op.create_table('class_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('rules_key', sa.String(length=64), nullable=False),
    sa.Column('accounts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('class_snapshots')
    op.drop_index('ix_account_classes_cell', table_name='account_classes')
    op.drop_table('account_classes')
