"""Privacy: the audit actions of `kuanxin privacy` (export, delete, retention), and the table where the phone
number typed in an identity check waits, for minutes, for the ID tail of a later message (the conversation
store keeps only its masked form).

The audit values are written out here, not imported: this revision stays what it was when kuanxin.core.vocab
grows (kuanxin.store.migrate knows the earlier set too, to adopt a database made by create_all before 0007).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 06:30:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
          'request_changed')
PRIVACY = ('privacy_export', 'privacy_delete', 'privacy_retention')
TABLE = 'identity_pending_phones'
INDEX = 'ix_identity_pending_phones_expires_at'


def condition(allowed: tuple[str, ...]) -> str:
    return f"action IN ({', '.join(repr(value) for value in allowed)})"


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table('audit_entries') as batch_op:
        batch_op.drop_constraint('ck_audit_action', type_='check')
        batch_op.create_check_constraint('ck_audit_action', condition(allowed))


def upgrade() -> None:
    set_audit_actions(BEFORE + PRIVACY)
    op.create_table(TABLE,
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    op.create_index(INDEX, TABLE, ['expires_at'], unique=False)


def downgrade() -> None:
    written = op.get_bind().execute(sa.text(
        f"SELECT COUNT(*) FROM audit_entries WHERE {condition(PRIVACY)}")).scalar_one()
    if written:
        raise MigrationError(f"revision 0007 not downgraded, nothing changed: {written} audit entries record "
                             "privacy commands, and audit entries are never deleted")
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_table(TABLE)
    set_audit_actions(BEFORE)
