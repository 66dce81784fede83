"""Safety flags: conversations in which a borrower spoke of suicide or self-harm (reminders pause).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('safety_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('escalation_reference', sa.String(length=32), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('open_key', sa.String(length=160), nullable=True),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.Column('cleared_by', sa.String(length=64), nullable=True),
    sa.Column('clear_note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key')
    )
    op.create_index(op.f('ix_safety_flags_conversation_id'), 'safety_flags', ['conversation_id'], unique=False)
    op.create_index('ix_safety_flags_borrower_cleared', 'safety_flags', ['borrower_id', 'cleared_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_safety_flags_borrower_cleared', table_name='safety_flags')
    op.drop_index(op.f('ix_safety_flags_conversation_id'), table_name='safety_flags')
    op.drop_table('safety_flags')
