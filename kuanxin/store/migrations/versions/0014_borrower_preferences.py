"""Pay now, preferences and satisfaction (issue 19): the payments a borrower was told of in the conversation
(payment_acknowledgements), what borrowers said about reminders (reminder_preferences, append-only: the latest row
is in force), and the audit action `reminder_preferences`.

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

AUDIT_BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
                'request_changed', 'privacy_export', 'privacy_delete', 'privacy_retention', 'replay_event', 'assign',
                'automated_decision', 'revoke_plan')
PREFERENCES = ('reminder_preferences',)
CHANNELS = ('wechat', 'sms')  # a NULL channel passes the check: the assistant's own choice


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table('audit_entries') as batch_op:
        batch_op.drop_constraint('ck_audit_action', type_='check')
        batch_op.create_check_constraint('ck_audit_action', condition('action', allowed))


def upgrade() -> None:
    op.create_table('reminder_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('window_start', sa.Time(), nullable=True),
    sa.Column('window_end', sa.Time(), nullable=True),
    sa.Column('paused_until', sa.Date(), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('said_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('channel', CHANNELS), name='ck_reminder_preferences_channel'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reminder_preferences_borrower', 'reminder_preferences', ['borrower_id', 'id'], unique=False)
    op.create_table('payment_acknowledgements',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('payment_id')
    )
    op.create_index('ix_payment_acknowledgements_borrower_id', 'payment_acknowledgements', ['borrower_id'],
                    unique=False)
    set_audit_actions(AUDIT_BEFORE + PREFERENCES)


def downgrade() -> None:
    connection = op.get_bind()
    counts = {
        'reminder preferences': "SELECT COUNT(*) FROM reminder_preferences",
        'audit entries of preferences': f"SELECT COUNT(*) FROM audit_entries WHERE {condition('action', PREFERENCES)}",
    }
    kept = {name: connection.execute(sa.text(query)).scalar_one() for name, query in counts.items()}
    if any(kept.values()):
        held = ", ".join(f"{count} {name}" for name, count in kept.items() if count)
        raise MigrationError(f"revision 0014 not downgraded, nothing changed: the database holds {held}; "
                             "what borrowers said about reminders is never deleted")
    set_audit_actions(AUDIT_BEFORE)
    op.drop_index('ix_payment_acknowledgements_borrower_id', table_name='payment_acknowledgements')
    op.drop_table('payment_acknowledgements')
    op.drop_index('ix_reminder_preferences_borrower', table_name='reminder_preferences')
    op.drop_table('reminder_preferences')
