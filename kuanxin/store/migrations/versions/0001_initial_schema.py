"""The account database as of the staff console: every table the product had before migrations.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 15:07:22.368300
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.models import ExactDecimal

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('staff', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_conversation_at', 'audit_entries', ['conversation_id', 'at'], unique=False)
    op.create_table('borrowers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('id_last4', sa.String(length=4), nullable=False),
    sa.Column('id_masked', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone')
    )
    op.create_table('conversation_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('staff', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_conversation_notes_conversation_id'), 'conversation_notes', ['conversation_id'], unique=False)
    op.create_table('identity_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_attempts_conversation_at', 'identity_attempts', ['conversation_id', 'at'], unique=False)
    op.create_index('ix_attempts_phone_at', 'identity_attempts', ['phone', 'at'], unique=False)
    op.create_table('staff_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('open_key', sa.String(length=200), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('taken_over', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key'),
    sa.UniqueConstraint('reference')
    )
    op.create_index(op.f('ix_escalations_borrower_id'), 'escalations', ['borrower_id'], unique=False)
    op.create_index(op.f('ix_escalations_conversation_id'), 'escalations', ['conversation_id'], unique=False)
    op.create_index('ix_escalations_status_created', 'escalations', ['status', 'created_at'], unique=False)
    op.create_table('loans',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=100), nullable=False),
    sa.Column('principal', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('annual_rate', ExactDecimal(precision=12, scale=8), nullable=False),
    sa.Column('penalty_daily_rate', ExactDecimal(precision=12, scale=8), nullable=False),
    sa.Column('late_fee', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_loans_borrower_id'), 'loans', ['borrower_id'], unique=False)
    op.create_table('payment_promises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('amount', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('open_key', sa.String(length=160), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key'),
    sa.UniqueConstraint('reference')
    )
    op.create_index(op.f('ix_payment_promises_borrower_id'), 'payment_promises', ['borrower_id'], unique=False)
    op.create_table('sender_bindings',
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('sender_id')
    )
    op.create_index(op.f('ix_sender_bindings_borrower_id'), 'sender_bindings', ['borrower_id'], unique=False)
    op.create_table('staff_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_staff_sessions_staff_id'), 'staff_sessions', ['staff_id'], unique=False)
    op.create_table('schedule_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('principal', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('interest', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('paid', ExactDecimal(precision=14, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('loan_id', 'period')
    )
    op.create_table('service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=True),
    sa.Column('periods', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('open_key', sa.String(length=160), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key'),
    sa.UniqueConstraint('reference')
    )
    op.create_index('ix_requests_status_created', 'service_requests', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_service_requests_borrower_id'), 'service_requests', ['borrower_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_service_requests_borrower_id'), table_name='service_requests')
    op.drop_index('ix_requests_status_created', table_name='service_requests')
    op.drop_table('service_requests')
    op.drop_table('schedule_rows')
    op.drop_index(op.f('ix_staff_sessions_staff_id'), table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_index(op.f('ix_sender_bindings_borrower_id'), table_name='sender_bindings')
    op.drop_table('sender_bindings')
    op.drop_index(op.f('ix_payment_promises_borrower_id'), table_name='payment_promises')
    op.drop_table('payment_promises')
    op.drop_index(op.f('ix_loans_borrower_id'), table_name='loans')
    op.drop_table('loans')
    op.drop_index('ix_escalations_status_created', table_name='escalations')
    op.drop_index(op.f('ix_escalations_conversation_id'), table_name='escalations')
    op.drop_index(op.f('ix_escalations_borrower_id'), table_name='escalations')
    op.drop_table('escalations')
    op.drop_table('staff_members')
    op.drop_index('ix_attempts_phone_at', table_name='identity_attempts')
    op.drop_index('ix_attempts_conversation_at', table_name='identity_attempts')
    op.drop_table('identity_attempts')
    op.drop_index(op.f('ix_conversation_notes_conversation_id'), table_name='conversation_notes')
    op.drop_table('conversation_notes')
    op.drop_table('borrowers')
    op.drop_index('ix_audit_conversation_at', table_name='audit_entries')
    op.drop_table('audit_entries')
