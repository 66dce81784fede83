"""Alembic migrations of the account database (`kuanxin db upgrade`); kuanxin.migrate runs them."""
