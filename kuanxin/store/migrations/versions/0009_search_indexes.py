"""Staff search (搜索): an index on the last four digits of a borrower's phone number.

Written as an expression the same on SQLite and PostgreSQL, substr(phone, length(phone) - 3); the search's query
(kuanxin.store.models.phone_tail) writes it identically, so both databases use the index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_borrowers_phone_tail', 'borrowers', [sa.text('substr(phone, length(phone) - 3)')],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_borrowers_phone_tail', table_name='borrowers')
