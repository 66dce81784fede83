"""CHECK constraints for the closed vocabularies (kuanxin.core.vocab): statuses, reasons, kinds, roles, channels.

Before adding any, every column is read: a value outside its set stops the upgrade with the table,
column and values named, and nothing is changed (the values are data to correct, not to guess at).

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# table -> [(constraint name, column, allowed values)]
CHECKS = {
    'loans': [('ck_loans_status', 'status', ('active', 'litigation', 'settled'))],
    'service_requests': [
        ('ck_requests_type', 'type', ('deferral', 'installment', 'waiver')),
        ('ck_requests_status', 'status', ('pending', 'approved', 'rejected', 'cancelled')),
    ],
    'payment_promises': [('ck_promises_status', 'status', ('open', 'kept', 'broken'))],
    'escalations': [
        ('ck_escalations_reason', 'reason',
         ('human', 'dispute', 'collection_abuse', 'low_confidence', 'safety', 'frustration')),
        ('ck_escalations_priority', 'priority', ('high', 'normal')),
        ('ck_escalations_status', 'status', ('open', 'claimed', 'resolved')),
    ],
    'sender_bindings': [('ck_bindings_channel', 'channel', ('webchat', 'wechat'))],
    'staff_members': [('ck_staff_role', 'role', ('agent', 'supervisor'))],
    'audit_entries': [('ck_audit_action', 'action',
                       ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject',
                        'clear_safety', 'request_changed'))],
    'reminders': [
        ('ck_reminders_kind', 'kind', ('segment', 'broken_promise')),
        ('ck_reminders_segment', 'segment',
         ('upcoming', 'early', 'middle', 'late', 'litigation', 'settled', 'current')),
        ('ck_reminders_channel', 'channel', ('wechat', 'sms')),
        ('ck_reminders_status', 'status', ('sending', 'sent', 'failed')),
    ],
}
SHOWN = 10  # distinct bad values named per column


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def values_outside() -> list[str]:
    """`table.column: 'value' (n rows), …` for every column holding a value outside its set."""
    connection = op.get_bind()
    problems = []
    for table, checks in CHECKS.items():
        for _name, column, allowed in checks:
            bad = connection.execute(sa.text(
                f"SELECT {column}, COUNT(*) FROM {table} "
                f"WHERE {column} IS NOT NULL AND NOT ({condition(column, allowed)}) "
                f"GROUP BY {column} ORDER BY COUNT(*) DESC, {column}")).all()
            if bad:
                shown = ", ".join(f"{value!r} ({count} rows)" for value, count in bad[:SHOWN])
                more = f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
                problems.append(f"{table}.{column}: {shown}{more}; allowed: {', '.join(allowed)}")
    return problems


def upgrade() -> None:
    problems = values_outside()
    if problems:
        raise MigrationError("revision 0005 not applied, nothing changed: these columns hold values outside "
                             "their closed sets (kuanxin/core/vocab.py); correct the rows, then upgrade again:\n  "
                             + "\n  ".join(problems))
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for name, column, allowed in checks:
                batch_op.create_check_constraint(name, condition(column, allowed))


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for name, _column, _allowed in checks:
                batch_op.drop_constraint(name, type_='check')
