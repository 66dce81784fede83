"""Staff console shifts: when an escalation was first answered (its service clock stops), which agents take part in
the round-robin, and the audit action of an assignment.

Escalations already answered get their first response from the audit trail (the earliest claim, take-over, reply
or resolution of their reference). The sets are written out here, not imported: this revision stays what it was
when kuanxin.core.vocab grows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

AUDIT_BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
                'request_changed', 'privacy_export', 'privacy_delete', 'privacy_retention', 'replay_event')
ASSIGN = ('assign',)
ANSWERS = ('claim', 'take_over', 'reply', 'resolve')


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table('audit_entries') as batch_op:
        batch_op.drop_constraint('ck_audit_action', type_='check')
        batch_op.create_check_constraint('ck_audit_action', condition('action', allowed))


def upgrade() -> None:
    op.add_column('escalations', sa.Column('first_response_at', sa.DateTime(), nullable=True))
    op.add_column('staff_members', sa.Column('available', sa.Boolean(), server_default=sa.false(), nullable=False))
    set_audit_actions(AUDIT_BEFORE + ASSIGN)
    op.execute("UPDATE escalations SET first_response_at = (SELECT MIN(a.at) FROM audit_entries a "
               f"WHERE a.target = escalations.reference AND a.{condition('action', ANSWERS)}) "
               "WHERE status <> 'open'")


def downgrade() -> None:
    assignments = op.get_bind().execute(sa.text(
        f"SELECT COUNT(*) FROM audit_entries WHERE {condition('action', ASSIGN)}")).scalar_one()
    if assignments:
        raise MigrationError(f"revision 0010 not downgraded, nothing changed: {assignments} audit entries record "
                             "assignments, and audit entries are never deleted")
    set_audit_actions(AUDIT_BEFORE)
    with op.batch_alter_table('staff_members') as batch:
        batch.drop_column('available')
    with op.batch_alter_table('escalations') as batch:
        batch.drop_column('first_response_at')
