"""Plans decided within limits and agreed in writing: the automated decisions with the rules they applied, the
written agreements (append-only), the plans in force under them, and the audit action of an automated decision.

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

AUDIT_BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
                'request_changed', 'privacy_export', 'privacy_delete', 'privacy_retention', 'replay_event', 'assign')
AUTOMATED = ('automated_decision',)
KINDS = ('deferral', 'installment', 'waiver')
OUTCOMES = ('approved', 'review', 'refused')
PLAN_STATUSES = ('in_force', 'completed', 'broken', 'superseded')


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table('audit_entries') as batch_op:
        batch_op.drop_constraint('ck_audit_action', type_='check')
        batch_op.create_check_constraint('ck_audit_action', condition('action', allowed))


def upgrade() -> None:
    op.create_table('plan_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('length', sa.Integer(), nullable=True),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('request_reference', sa.String(length=32), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('kind', KINDS), name='ck_plan_decisions_kind'),
    sa.CheckConstraint(condition('outcome', OUTCOMES), name='ck_plan_decisions_outcome'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_plan_decisions_borrower_id', 'plan_decisions', ['borrower_id'], unique=False)
    op.create_index('ix_plan_decisions_conversation_at', 'plan_decisions', ['conversation_id', 'decided_at'],
                    unique=False)
    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('request_reference', sa.String(length=32), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('identity_check', sa.Text(), nullable=False),
    sa.Column('supersedes', sa.String(length=32), nullable=True),
    sa.CheckConstraint(condition('kind', KINDS), name='ck_agreements_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index('ix_agreements_borrower_id', 'agreements', ['borrower_id'], unique=False)
    op.create_table('repayment_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_number', sa.String(length=32), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('payments', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('open_key', sa.String(length=160), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.CheckConstraint(condition('kind', KINDS), name='ck_repayment_plans_kind'),
    sa.CheckConstraint(condition('status', PLAN_STATUSES), name='ck_repayment_plans_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_number'),
    sa.UniqueConstraint('open_key')
    )
    op.create_index('ix_repayment_plans_borrower_id', 'repayment_plans', ['borrower_id'], unique=False)
    op.create_index('ix_repayment_plans_status', 'repayment_plans', ['status'], unique=False)
    set_audit_actions(AUDIT_BEFORE + AUTOMATED)


def downgrade() -> None:
    connection = op.get_bind()
    kept = {table: connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ('plan_decisions', 'agreements', 'repayment_plans')}
    kept['audit entries of automated decisions'] = connection.execute(sa.text(
        f"SELECT COUNT(*) FROM audit_entries WHERE {condition('action', AUTOMATED)}")).scalar_one()
    if any(kept.values()):
        held = ", ".join(f"{count} {name}" for name, count in kept.items() if count)
        raise MigrationError(f"revision 0011 not downgraded, nothing changed: the database holds {held}; "
                             "agreements and decisions are never deleted")
    set_audit_actions(AUDIT_BEFORE)
    op.drop_index('ix_repayment_plans_status', table_name='repayment_plans')
    op.drop_index('ix_repayment_plans_borrower_id', table_name='repayment_plans')
    op.drop_table('repayment_plans')
    op.drop_index('ix_agreements_borrower_id', table_name='agreements')
    op.drop_table('agreements')
    op.drop_index('ix_plan_decisions_conversation_at', table_name='plan_decisions')
    op.drop_index('ix_plan_decisions_borrower_id', table_name='plan_decisions')
    op.drop_table('plan_decisions')
