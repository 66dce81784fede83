"""Documents borrowers attach (issue 19, item 1): the separate consent to keep them (document_consents, append-only)
and the documents themselves (documents: checked, sealed and stored under a random key; the row stays after the
retention purge); the audit actions attach_document, document_consent, view_document and purge_documents.

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 15:30:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

AUDIT_BEFORE = ('claim', 'take_over', 'hand_back', 'reply', 'resolve', 'note', 'approve', 'reject', 'clear_safety',
                'request_changed', 'privacy_export', 'privacy_delete', 'privacy_retention', 'replay_event', 'assign',
                'automated_decision', 'revoke_plan', 'reminder_preferences')
DOCUMENT_ACTIONS = ('attach_document', 'document_consent', 'view_document', 'purge_documents')
DECISIONS = ('given', 'withdrawn')
CHANNELS = ('webchat', 'wechat')
CONSENT_CHANNELS = ('webchat', 'wechat', 'staff')
PURPOSES = ('hardship', 'dispute', 'waiver', 'payment_query')
KINDS = ('jpeg', 'png', 'pdf', 'heic')


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def set_audit_actions(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table('audit_entries') as batch_op:
        batch_op.drop_constraint('ck_audit_action', type_='check')
        batch_op.create_check_constraint('ck_audit_action', condition('action', allowed))


def upgrade() -> None:
    op.create_table('document_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('text_version', sa.String(length=64), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('decision', DECISIONS), name='ck_document_consents_decision'),
    sa.CheckConstraint(condition('channel', CONSENT_CHANNELS), name='ck_document_consents_channel'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_document_consents_borrower', 'document_consents', ['borrower_id', 'id'], unique=False)
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('received_kind', sa.String(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=128), nullable=True),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('purged_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint(condition('purpose', PURPOSES), name='ck_documents_purpose'),
    sa.CheckConstraint(condition('kind', KINDS), name='ck_documents_kind'),
    sa.CheckConstraint(condition('channel', CHANNELS), name='ck_documents_channel'),
    sa.ForeignKeyConstraint(['consent_id'], ['document_consents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('object_key'),
    sa.UniqueConstraint('public_id')
    )
    op.create_index('ix_documents_borrower_id', 'documents', ['borrower_id'], unique=False)
    op.create_index('ix_documents_conversation', 'documents', ['conversation_id', 'id'], unique=False)
    op.create_index('ix_documents_received_at', 'documents', ['received_at'], unique=False)
    set_audit_actions(AUDIT_BEFORE + DOCUMENT_ACTIONS)


def downgrade() -> None:
    connection = op.get_bind()
    counts = {
        'consents': "SELECT COUNT(*) FROM document_consents",
        'documents': "SELECT COUNT(*) FROM documents",
        'audit entries of documents': f"SELECT COUNT(*) FROM audit_entries WHERE {condition('action', DOCUMENT_ACTIONS)}",
    }
    kept = {name: connection.execute(sa.text(query)).scalar_one() for name, query in counts.items()}
    if any(kept.values()):
        held = ", ".join(f"{count} {name}" for name, count in kept.items() if count)
        raise MigrationError(f"revision 0016 not downgraded, nothing changed: the database holds {held}; "
                             "what borrowers consented to and sent, and who looked at it, is never deleted here")
    set_audit_actions(AUDIT_BEFORE)
    op.drop_index('ix_documents_received_at', table_name='documents')
    op.drop_index('ix_documents_conversation', table_name='documents')
    op.drop_index('ix_documents_borrower_id', table_name='documents')
    op.drop_table('documents')
    op.drop_index('ix_document_consents_borrower', table_name='document_consents')
    op.drop_table('document_consents')
