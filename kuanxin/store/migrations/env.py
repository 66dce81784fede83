"""Alembic environment: the connection comes from kuanxin.store.migrate (never from an ini file with a password)."""
from alembic import context

from kuanxin.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
