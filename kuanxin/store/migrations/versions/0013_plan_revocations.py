"""Plans, the staff side: the agreements offered (plan_offers, what the report counts), a supervisor's revocation of
an automated approval (plan_revocations, append-only), the plan status `revoked`, when the borrower was told a plan
ended (repayment_plans.told_at), the audit action `revoke_plan`, the lender's event `plan.revoked`, and reminders of a
plan payment (reminders.kind `plan_payment`).

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 12:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

AUDIT_BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
                'request_changed', 'privacy_export', 'privacy_delete', 'privacy_retention', 'replay_event', 'assign',
                'automated_decision')
REVOKE = ('revoke_plan',)
EVENTS_BEFORE = ('request.created', 'request.changed', 'request.decided', 'promise.made', 'promise.kept',
                 'promise.broken', 'dispute.filed', 'complaint.filed', 'safety.escalated', 'reminders.opted_out',
                 'identity.locked', 'plan.accepted', 'plan.broken', 'plan.completed')
REVOKED_EVENT = ('plan.revoked',)
PLAN_STATUSES_BEFORE = ('in_force', 'completed', 'broken', 'superseded')
REVOKED = ('revoked',)
REMINDER_KINDS_BEFORE = ('segment', 'broken_promise')
KINDS = ('deferral', 'installment', 'waiver')
PLAN_PAYMENT = ('plan_payment',)


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def set_check(table: str, name: str, column: str, allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_constraint(name, type_='check')
        batch_op.create_check_constraint(name, condition(column, allowed))


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    set_check('audit_entries', 'ck_audit_action', 'action', allowed)


def upgrade() -> None:
    op.create_table('plan_revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_number', sa.String(length=32), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('revoked_by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_number')
    )
    op.create_index('ix_plan_revocations_borrower_id', 'plan_revocations', ['borrower_id'], unique=False)
    op.create_table('plan_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('offered_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('kind', KINDS), name='ck_plan_offers_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'sha256', name='uq_plan_offers_conversation_text')
    )
    op.create_index('ix_plan_offers_offered_at', 'plan_offers', ['offered_at'], unique=False)
    with op.batch_alter_table('repayment_plans') as batch_op:
        batch_op.add_column(sa.Column('told_at', sa.DateTime(), nullable=True))
    # plans that ended before this revision were told under the earlier rule (or never will be): not told again
    op.execute("UPDATE repayment_plans SET told_at = CURRENT_TIMESTAMP WHERE status <> 'in_force'")
    set_check('repayment_plans', 'ck_repayment_plans_status', 'status', PLAN_STATUSES_BEFORE + REVOKED)
    set_check('outbox_events', 'ck_outbox_events_kind', 'kind', EVENTS_BEFORE + REVOKED_EVENT)
    set_check('reminders', 'ck_reminders_kind', 'kind', REMINDER_KINDS_BEFORE + PLAN_PAYMENT)
    set_audit_actions(AUDIT_BEFORE + REVOKE)


def downgrade() -> None:
    connection = op.get_bind()
    counts = {
        'plan revocations': "SELECT COUNT(*) FROM plan_revocations",
        'agreements offered': "SELECT COUNT(*) FROM plan_offers",
        'revoked plans': f"SELECT COUNT(*) FROM repayment_plans WHERE {condition('status', REVOKED)}",
        'events of revoked plans': f"SELECT COUNT(*) FROM outbox_events WHERE {condition('kind', REVOKED_EVENT)}",
        'plan payment reminders': f"SELECT COUNT(*) FROM reminders WHERE {condition('kind', PLAN_PAYMENT)}",
        'audit entries of revocations': f"SELECT COUNT(*) FROM audit_entries WHERE {condition('action', REVOKE)}",
    }
    kept = {name: connection.execute(sa.text(query)).scalar_one() for name, query in counts.items()}
    if any(kept.values()):
        held = ", ".join(f"{count} {name}" for name, count in kept.items() if count)
        raise MigrationError(f"revision 0013 not downgraded, nothing changed: the database holds {held}; "
                             "revocations and what they recorded are never deleted")
    set_audit_actions(AUDIT_BEFORE)
    set_check('reminders', 'ck_reminders_kind', 'kind', REMINDER_KINDS_BEFORE)
    set_check('outbox_events', 'ck_outbox_events_kind', 'kind', EVENTS_BEFORE)
    set_check('repayment_plans', 'ck_repayment_plans_status', 'status', PLAN_STATUSES_BEFORE)
    with op.batch_alter_table('repayment_plans') as batch_op:
        batch_op.drop_column('told_at')
    op.drop_index('ix_plan_offers_offered_at', table_name='plan_offers')
    op.drop_table('plan_offers')
    op.drop_index('ix_plan_revocations_borrower_id', table_name='plan_revocations')
    op.drop_table('plan_revocations')
