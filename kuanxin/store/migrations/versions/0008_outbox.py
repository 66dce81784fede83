"""Events out: the outbox of facts the lender must act on (append-only events, the queue of events not yet
fanned out, each borrower's event count, and one delivery per event and endpoint), and the audit action of
the console's 重新投递.

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

AUDIT_BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
                'request_changed', 'privacy_export', 'privacy_delete', 'privacy_retention')
REPLAY = ('replay_event',)
EVENT_KINDS = ('request.created', 'request.changed', 'request.decided', 'promise.made', 'promise.kept',
               'promise.broken', 'dispute.filed', 'complaint.filed', 'safety.escalated', 'reminders.opted_out',
               'identity.locked', 'plan.accepted', 'plan.broken', 'plan.completed')
DELIVERY_STATUSES = ('pending', 'delivered')


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table('audit_entries') as batch_op:
        batch_op.drop_constraint('ck_audit_action', type_='check')
        batch_op.create_check_constraint('ck_audit_action', condition('action', allowed))


def upgrade() -> None:
    op.create_table('outbox_events',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('kind', EVENT_KINDS), name='ck_outbox_events_kind'),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    op.create_index('ix_outbox_events_borrower_seq', 'outbox_events', ['borrower_id', 'seq'], unique=False)
    op.create_index('ix_outbox_events_created', 'outbox_events', ['created_at'], unique=False)
    op.create_table('outbox_streams',
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('stream')
    )
    op.create_table('outbox_queue',
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_seq'], ['outbox_events.seq'], ),
    sa.PrimaryKeyConstraint('event_seq')
    )
    op.create_table('outbox_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=500), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('claim', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.CheckConstraint(condition('status', DELIVERY_STATUSES), name='ck_outbox_deliveries_status'),
    sa.ForeignKeyConstraint(['event_seq'], ['outbox_events.seq'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_seq', 'endpoint', name='uq_outbox_deliveries_event_endpoint')
    )
    op.create_index('ix_outbox_deliveries_order', 'outbox_deliveries', ['endpoint', 'stream', 'event_seq'],
                    unique=False)
    op.create_index('ix_outbox_deliveries_status_next', 'outbox_deliveries', ['status', 'next_attempt_at'],
                    unique=False)
    set_audit_actions(AUDIT_BEFORE + REPLAY)


def downgrade() -> None:
    connection = op.get_bind()
    events = connection.execute(sa.text("SELECT COUNT(*) FROM outbox_events")).scalar_one()
    replays = connection.execute(sa.text(
        f"SELECT COUNT(*) FROM audit_entries WHERE {condition('action', REPLAY)}")).scalar_one()
    if events or replays:
        raise MigrationError(f"revision 0008 not downgraded, nothing changed: the outbox holds {events} events "
                             f"and {replays} audit entries record replays; neither is ever deleted")
    set_audit_actions(AUDIT_BEFORE)
    op.drop_index('ix_outbox_deliveries_status_next', table_name='outbox_deliveries')
    op.drop_index('ix_outbox_deliveries_order', table_name='outbox_deliveries')
    op.drop_table('outbox_deliveries')
    op.drop_table('outbox_queue')
    op.drop_table('outbox_streams')
    op.drop_index('ix_outbox_events_created', table_name='outbox_events')
    op.drop_index('ix_outbox_events_borrower_seq', table_name='outbox_events')
    op.drop_table('outbox_events')
