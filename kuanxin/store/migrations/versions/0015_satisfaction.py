"""Borrower satisfaction (issue 19, item 4): the question asked after an outcome (satisfaction_asks, one a day per
borrower or unverified conversation, kept by unique constraints), the answers (satisfaction_ratings) and the optional
comments (satisfaction_comments). All append-only.

The sets are written out here, not imported: this revision stays what it was when kuanxin.core.vocab grows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 15:00:00
"""
import sqlalchemy as sa
from alembic import op

from kuanxin.store.migrate import MigrationError

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

RATINGS = ('good', 'neutral', 'bad')
OUTCOMES = ('plan', 'promise', 'request', 'answered')


def condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def upgrade() -> None:
    op.create_table('satisfaction_asks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.Column('asker', sa.String(length=160), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('outcome', OUTCOMES), name='ck_satisfaction_asks_outcome'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('asker', 'day', name='uq_satisfaction_asks_asker_day'),
    sa.UniqueConstraint('conversation_id', 'day', name='uq_satisfaction_asks_conversation_day')
    )
    op.create_index('ix_satisfaction_asks_asked_at', 'satisfaction_asks', ['asked_at'], unique=False)
    op.create_table('satisfaction_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ask_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('rating', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(condition('rating', RATINGS), name='ck_satisfaction_ratings_rating'),
    sa.CheckConstraint(condition('outcome', OUTCOMES), name='ck_satisfaction_ratings_outcome'),
    sa.ForeignKeyConstraint(['ask_id'], ['satisfaction_asks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ask_id')
    )
    op.create_index('ix_satisfaction_ratings_created_at', 'satisfaction_ratings', ['created_at'], unique=False)
    op.create_table('satisfaction_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ask_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ask_id'], ['satisfaction_asks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ask_id')
    )


def downgrade() -> None:
    connection = op.get_bind()
    kept = connection.execute(sa.text("SELECT COUNT(*) FROM satisfaction_asks")).scalar_one()
    if kept:
        raise MigrationError(f"revision 0015 not downgraded, nothing changed: the database holds {kept} satisfaction "
                             "questions; what borrowers said about the service is never deleted")
    op.drop_table('satisfaction_comments')
    op.drop_index('ix_satisfaction_ratings_created_at', table_name='satisfaction_ratings')
    op.drop_table('satisfaction_ratings')
    op.drop_index('ix_satisfaction_asks_asked_at', table_name='satisfaction_asks')
    op.drop_table('satisfaction_asks')
