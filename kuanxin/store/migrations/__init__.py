"""Alembic migrations of the account database (`kuanxin db upgrade`); kuanxin.store.migrate runs them."""
