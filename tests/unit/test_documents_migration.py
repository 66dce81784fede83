"""Revision 0016 (documents and consents) on both backends: added after 0015 with the data kept, the new audit
actions allowed, and never downgraded while it holds what borrowers consented to or sent."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from kuanxin.store import migrate
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from tests.unit.test_migrations import empty_url, load_as_then, one_document_row  # noqa: F401 (the fixture)

DOCUMENT_ACTIONS = ("attach_document", "document_consent", "view_document", "purge_documents")


def test_0016_adds_documents_after_0015_and_allows_their_audit_actions(empty_url):  # noqa: F811
    assert migrate.upgrade(empty_url, "0015") == "0015"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    with pytest.raises(IntegrityError, match="ck_audit_action"):
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO audit_entries (at, staff, action) "
                                    "VALUES ('2026-12-06 10:00:00', 'li', 'view_document')"))
    assert migrate.upgrade(empty_url, "0016") == "0016"
    assert {"documents", "document_consents"} <= set(inspect(database.engine).get_table_names())
    one_document_row(database)
    with database.engine.begin() as connection:
        for action in DOCUMENT_ACTIONS:
            connection.execute(text("INSERT INTO audit_entries (at, staff, action) "
                                    "VALUES ('2026-12-06 10:00:00', 'li', :a)"), {"a": action})
    database.engine.dispose()


def test_0016_is_not_downgraded_while_it_holds_consents_or_documents(empty_url):  # noqa: F811
    migrate.upgrade(empty_url, "0016")
    database = Database(empty_url)
    load_as_then(database, demo_document())
    one_document_row(database)
    with pytest.raises(migrate.MigrationError, match="revision 0016 not downgraded, nothing changed: the database "
                                                      "holds 1 consents, 1 documents"):
        migrate.downgrade(empty_url, "0015")
    assert migrate.current(empty_url) == "0016"
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM documents"))
        connection.execute(text("DELETE FROM document_consents"))
    migrate.downgrade(empty_url, "0015")
    assert "documents" not in inspect(database.engine).get_table_names()
    with pytest.raises(IntegrityError, match="ck_audit_action"):  # the constraint is 0015's again
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO audit_entries (at, staff, action) "
                                    "VALUES ('2026-12-06 10:00:00', 'li', 'purge_documents')"))
    database.engine.dispose()
