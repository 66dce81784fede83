"""Alembic migrations on real PostgreSQL and SQLite: from empty, from the previous revision with data,
and in step with the models."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint, MetaData, create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from kuanxin.core import vocab
from kuanxin.core.policy import SEGMENTS
from kuanxin.store import migrate
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import validate
from kuanxin.store.models import (
    AccountClass,
    Agreement,
    AuditEntry,
    Base,
    Borrower,
    Document,
    DocumentConsent,
    Escalation,
    OutboxDelivery,
    OutboxEvent,
    PaymentPromise,
    PlanDecisionRecord,
    PlanOffer,
    Reminder,
    ReminderPreference,
    RepaymentPlan,
    SatisfactionAsk,
    SatisfactionRatingRecord,
    ScheduleRow,
    SenderBinding,
    ServiceRequest,
    phone_tail,
)
from tests.conftest import BACKENDS, POSTGRES_URL


def fresh_postgres(name: str) -> str:
    admin = create_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    finally:
        admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    return fresh_postgres(POSTGRES_URL.rsplit("/", 1)[1] + "_migrations")


def test_upgrade_from_empty_gives_exactly_the_models(empty_url):
    assert migrate.upgrade(empty_url) == migrate.head()
    database = Database(empty_url)
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []  # CHECK constraints included (by name and values)
        assert migrate.database_checks(connection) == migrate.model_checks()
    assert len(migrate.model_checks()) == len(VOCABULARY_COLUMNS)
    assert migrate.current(empty_url) == migrate.head()
    database.engine.dispose()


def load_as_then(database: Database, document: dict) -> None:
    """The document's accounts as an older schema holds them: only the columns its tables had."""
    rows = validate(document)
    engine = database.engine
    with engine.begin() as connection:
        for table, records in (("borrowers", rows.borrowers), ("loans", rows.loans),
                               ("schedule_rows", rows.schedule), ("service_requests", rows.requests)):
            had = {column["name"] for column in inspect(connection).get_columns(table)}
            connection.execute(Base.metadata.tables[table].insert(),
                               [{k: v for k, v in record.items() if k in had} for record in records])


def test_upgrade_from_the_previous_revision_keeps_the_data(empty_url):
    assert migrate.upgrade(empty_url, "0001") == "0001"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    with database.engine.begin() as connection:  # as 0001's code wrote it: today's models have more columns
        connection.execute(text(
            "INSERT INTO payment_promises (reference, borrower_id, promised_date, amount, status, created_at) "
            "VALUES ('CN20261122-0001', 'B1001', '2026-11-30', '3084.60', 'open', '2026-11-22 10:00:00')"))
    assert migrate.upgrade(empty_url) == migrate.head()
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("payment_promises")}
    assert "ix_promises_status_date" in indexes
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
        assert session.execute(select(PaymentPromise.amount)).scalar_one() == Decimal("3084.60")
        # what was paid before the ledger (0006) is the rows' opening figure
        paid = session.execute(select(ScheduleRow.paid, ScheduleRow.opening_paid).where(ScheduleRow.paid > 0)).all()
        assert paid and all(row.paid == row.opening_paid for row in paid)
    migrate.downgrade(empty_url, "0001")
    indexes = {i["name"] for i in inspect(database.engine).get_indexes("payment_promises")}
    assert "ix_promises_status_date" not in indexes
    database.engine.dispose()


def test_a_database_made_before_migrations_is_adopted_when_it_matches(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Base.metadata.create_all(Database(url).engine)
    assert migrate.upgrade(url) == migrate.head()


def models_without_checks() -> MetaData:
    """The schema create_all made before the vocabularies had CHECK constraints (and so before the ledger)."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name in ("payments", "inbound_batches", "identity_pending_phones", *migrate.OUTBOX_TABLES,
                          *migrate.PLAN_TABLES, *migrate.CLASS_TABLES, *migrate.PLAN_STAFF_TABLES,
                          *migrate.PREFERENCE_TABLES, *migrate.SATISFACTION_TABLES, *migrate.DOCUMENT_TABLES):
            continue
        copy = table.to_metadata(metadata)
        copy.constraints = {c for c in copy.constraints if not isinstance(c, CheckConstraint)}
        copy.indexes = {i for i in copy.indexes if i.name not in migrate.ADDED_BY_0009_EXPRESSIONS}
        for column in migrate.LEDGER_COLUMNS.get(table.name, ()):
            copy._columns.remove(copy.c[column])
        for _, table_name, column in sorted(migrate.ADDED_BY_0010):
            if table_name == table.name:
                copy._columns.remove(copy.c[column])
    return metadata


def test_a_database_made_by_create_all_before_the_checks_is_upgraded_to_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(url)
    models_without_checks().create_all(database.engine)
    one_row_each(database)
    assert migrate.upgrade(url) == migrate.head()
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    one_outbox_row_each(database)
    one_plan_row_each(database)
    one_preference_row(database)
    one_offer_row(database)
    one_class_row(database)
    one_satisfaction_row(database)
    one_document_row(database)
    assert_vocabularies_enforced(database)
    database.engine.dispose()


def test_the_embedded_default_migrates_a_database_made_by_create_all_when_it_opens_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    models_without_checks().create_all(Database(url).engine)
    database = Database(url)
    database.create_schema()  # what kuanxin.store.db.database() does for SQLite
    assert migrate.current(url) == migrate.head()
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []


def test_processes_opening_a_new_sqlite_file_together_migrate_it_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with ThreadPoolExecutor(max_workers=6) as pool:  # each with its own engine, as separate processes have
        list(pool.map(lambda _: Database(url).create_schema(), range(6)))
    database = Database(url)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrate.head()]
        assert migrate.differences(connection) == []


def test_a_database_that_differs_from_the_models_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    database = Database(url)
    Base.metadata.create_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_promises_status_date"))
    with pytest.raises(migrate.MigrationError, match="created without migrations"):
        migrate.upgrade(url)


@pytest.mark.slow
def test_kuanxin_db_upgrade_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    kuanxin = str(Path(sys.executable).parent / "kuanxin")
    env = {"KUANXIN_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    assert subprocess.run([kuanxin, "db", "current"], env=env, capture_output=True).returncode == 1
    done = subprocess.run([kuanxin, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and f"revision {migrate.head()}" in done.stdout
    assert subprocess.run([kuanxin, "db", "current"], env=env, capture_output=True).returncode == 0


def test_0004_adds_the_safety_flags_and_keeps_the_data(empty_url):
    assert migrate.upgrade(empty_url, "0003") == "0003"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    assert "safety_flags" not in inspect(database.engine).get_table_names()
    assert migrate.upgrade(empty_url) == migrate.head()
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO safety_flags (conversation_id, borrower_id, raised_at, open_key) "
            "VALUES ('c1', 'B1001', '2026-11-22 10:00:00', 'c1')"))
    assert {i["name"] for i in inspect(database.engine).get_indexes("safety_flags")} >= {
        "ix_safety_flags_borrower_cleared", "ix_safety_flags_conversation_id"}
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    migrate.downgrade(empty_url, "0003")
    assert "safety_flags" not in inspect(database.engine).get_table_names()
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    database.engine.dispose()


# every column holding a closed vocabulary: (table, column, constraint, the vocabulary)
VOCABULARY_COLUMNS = [
    ("loans", "status", "ck_loans_status", vocab.LoanStatus),
    ("service_requests", "type", "ck_requests_type", vocab.RequestType),
    ("service_requests", "status", "ck_requests_status", vocab.RequestStatus),
    ("payment_promises", "status", "ck_promises_status", vocab.PromiseStatus),
    ("escalations", "reason", "ck_escalations_reason", vocab.EscalationReason),
    ("escalations", "priority", "ck_escalations_priority", vocab.Priority),
    ("escalations", "status", "ck_escalations_status", vocab.EscalationStatus),
    ("sender_bindings", "channel", "ck_bindings_channel", vocab.BindingChannel),
    ("staff_members", "role", "ck_staff_role", vocab.StaffRole),
    ("audit_entries", "action", "ck_audit_action", vocab.AuditAction),
    ("reminders", "kind", "ck_reminders_kind", vocab.ReminderKind),
    ("reminders", "segment", "ck_reminders_segment", vocab.Segment),
    ("reminders", "channel", "ck_reminders_channel", vocab.ReminderChannel),
    ("reminders", "status", "ck_reminders_status", vocab.ReminderStatus),
    ("outbox_events", "kind", "ck_outbox_events_kind", vocab.EventKind),
    ("outbox_deliveries", "status", "ck_outbox_deliveries_status", vocab.DeliveryStatus),
    ("plan_decisions", "kind", "ck_plan_decisions_kind", vocab.RequestType),
    ("plan_decisions", "outcome", "ck_plan_decisions_outcome", vocab.DecisionOutcome),
    ("agreements", "kind", "ck_agreements_kind", vocab.RequestType),
    ("repayment_plans", "kind", "ck_repayment_plans_kind", vocab.RequestType),
    ("repayment_plans", "status", "ck_repayment_plans_status", vocab.PlanStatus),
    ("plan_offers", "kind", "ck_plan_offers_kind", vocab.RequestType),
    ("account_classes", "segment", "ck_account_classes_segment", vocab.Segment),
    ("account_classes", "size", "ck_account_classes_size", vocab.AccountSize),
    ("reminder_preferences", "channel", "ck_reminder_preferences_channel", vocab.ReminderChannel),
    ("satisfaction_asks", "outcome", "ck_satisfaction_asks_outcome", vocab.SatisfactionOutcome),
    ("satisfaction_ratings", "rating", "ck_satisfaction_ratings_rating", vocab.SatisfactionRating),
    ("satisfaction_ratings", "outcome", "ck_satisfaction_ratings_outcome", vocab.SatisfactionOutcome),
    ("document_consents", "decision", "ck_document_consents_decision", vocab.ConsentDecision),
    ("document_consents", "channel", "ck_document_consents_channel", vocab.ConsentChannel),
    ("documents", "purpose", "ck_documents_purpose", vocab.DocumentPurpose),
    ("documents", "kind", "ck_documents_kind", vocab.DocumentKind),
    ("documents", "channel", "ck_documents_channel", vocab.BindingChannel),
]
AT = dt.datetime(2026, 12, 1, 2)


def one_row_each(database: Database) -> None:
    """The demo accounts and one record in every table with a vocabulary column."""
    load_as_then(database, demo_document())
    with database.session() as session:
        session.add_all([
            ServiceRequest(borrower_id="B1001", loan_id="L1001", type=vocab.RequestType.DEFERRAL,
                           status=vocab.RequestStatus.REJECTED, created_on=AT.date(), created_at=AT),
            PaymentPromise(borrower_id="B1001", promised_date=AT.date(), amount=Decimal("100.00"),
                           status=vocab.PromiseStatus.OPEN, created_at=AT),
            SenderBinding(sender_id="s1", channel=vocab.BindingChannel.WECHAT, borrower_id="B1001", created_at=AT),
            AuditEntry(at=AT, staff="li", action=vocab.AuditAction.NOTE),
            Reminder(borrower_id="B1001", day=AT.date(), kind=vocab.ReminderKind.SEGMENT,
                     segment=vocab.Segment.EARLY, channel=vocab.ReminderChannel.SMS, recipient="138****5678",
                     amount=Decimal("100.00"), status=vocab.ReminderStatus.SENT, created_at=AT),
        ])
    insert_as_then(database, "escalations", dict(conversation_id="c1", reason="human", priority="normal",
                                                  status="open", created_at=AT, taken_over=False))
    insert_as_then(database, "staff_members", dict(username="li", display_name="李", role="agent", password_hash="x",
                                                    created_at=AT, active=True, failed_logins=0))
    if "outbox_events" in inspect(database.engine).get_table_names():  # 0008 on
        one_outbox_row_each(database)
    if "agreements" in inspect(database.engine).get_table_names():  # 0011 on
        one_plan_row_each(database)
    if "account_classes" in inspect(database.engine).get_table_names():  # 0012 on
        one_class_row(database)
    if "reminder_preferences" in inspect(database.engine).get_table_names():  # 0014 on
        one_preference_row(database)
    if "plan_offers" in inspect(database.engine).get_table_names():  # 0013 on
        one_offer_row(database)
    if "satisfaction_asks" in inspect(database.engine).get_table_names():  # 0015 on
        one_satisfaction_row(database)
    if "documents" in inspect(database.engine).get_table_names():  # 0016 on
        one_document_row(database)


def one_document_row(database: Database) -> None:
    with database.session() as session:
        consent = DocumentConsent(borrower_id="B1001", decision=vocab.ConsentDecision.GIVEN,
                                  text_version="documents.consent.v1", text_sha256="0" * 64, language="zh",
                                  channel=vocab.BindingChannel.WEBCHAT, conversation_id="c1", at=AT)
        session.add(consent)
        session.flush()
        session.add(Document(public_id=f"doc-{consent.id}", borrower_id="B1001", conversation_id="c1",
                             channel=vocab.BindingChannel.WEBCHAT, purpose=vocab.DocumentPurpose.HARDSHIP,
                             kind=vocab.DocumentKind.JPEG, received_kind=vocab.DocumentKind.HEIC, size=1,
                             sha256="0" * 64, object_key=f"key-{consent.id}", consent_id=consent.id, received_at=AT))


def one_satisfaction_row(database: Database) -> None:
    with database.session() as session:
        ask = SatisfactionAsk(conversation_id="c1", borrower_id="B1001", asker="borrower:B1001", day=AT.date(),
                              channel="rest", topic="promise_to_pay", outcome=vocab.SatisfactionOutcome.PROMISE,
                              asked_at=AT)
        session.add(ask)
        session.flush()
        session.add(SatisfactionRatingRecord(ask_id=ask.id, conversation_id="c1", borrower_id="B1001", channel="rest",
                                             topic="promise_to_pay", outcome=vocab.SatisfactionOutcome.PROMISE,
                                             rating=vocab.SatisfactionRating.GOOD, created_at=AT))


def one_offer_row(database: Database) -> None:
    with database.session() as session:
        session.add(PlanOffer(borrower_id="B1001", loan_id="L1001", kind=vocab.RequestType.INSTALLMENT, length=6,
                              sha256="0" * 64, conversation_id="c1", offered_at=AT))


def one_preference_row(database: Database) -> None:
    with database.session() as session:
        session.add(ReminderPreference(borrower_id="B1001", channel=vocab.ReminderChannel.SMS, said_at=AT))


def one_class_row(database: Database) -> None:
    with database.session() as session:
        session.add(AccountClass(borrower_id="B1001", segment=vocab.Segment.EARLY, size=vocab.AccountSize.SMALL,
                                 days_overdue=3, amount_cents=10000, as_of=AT.date()))


def one_plan_row_each(database: Database) -> None:
    with database.session() as session:
        session.add_all([
            PlanDecisionRecord(borrower_id="B1001", loan_id="L1001", kind=vocab.RequestType.INSTALLMENT,
                               outcome=vocab.DecisionOutcome.APPROVED, length=6, rules="[]", decided_at=AT),
            Agreement(number="XY20261201-0001", borrower_id="B1001", loan_id="L1001", kind="installment",
                      template="agreement.installment.v1", language="zh", text="协议", sha256="0" * 64, terms="{}",
                      accepted_at=AT, conversation_id="c1", identity_check="{}"),
            RepaymentPlan(agreement_number="XY20261201-0001", borrower_id="B1001", loan_id="L1001",
                          kind="installment", starts_on=AT.date(), payments="[]", status=vocab.PlanStatus.IN_FORCE,
                          open_key="L1001"),
        ])


def insert_as_then(database: Database, table: str, record: dict) -> None:
    """One row with the columns an older schema's table had (later revisions add columns to these tables)."""
    load = Base.metadata.tables[table]
    with database.engine.begin() as connection:
        had = {column["name"] for column in inspect(connection).get_columns(table)}
        connection.execute(load.insert().values({k: v for k, v in record.items() if k in had}))


def one_outbox_row_each(database: Database) -> None:
    with database.session() as session:
        session.add(OutboxEvent(seq=1, id="00000000-0000-4000-8000-000000000001", kind=vocab.EventKind.PROMISE_MADE,
                                borrower_id="B1001", sequence=1, payload="{}", created_at=AT))
    with database.session() as session:
        session.add(OutboxDelivery(event_seq=1, endpoint="https://lender.example/events", stream="B1001",
                                   status=vocab.DeliveryStatus.PENDING, attempts=0, next_attempt_at=AT))


def assert_vocabularies_enforced(database: Database) -> None:
    """Every value of each vocabulary is stored; any other is refused by the database, naming the constraint."""
    for table, column, constraint, vocabulary in VOCABULARY_COLUMNS:
        for value in vocabulary:
            with database.engine.begin() as connection:
                assert connection.execute(text(f"UPDATE {table} SET {column} = :v"), {"v": value.value}).rowcount
        with pytest.raises(IntegrityError, match=constraint):
            with database.engine.begin() as connection:
                connection.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))
    with pytest.raises(IntegrityError, match="ck_escalations_reason"):  # and through the ORM
        with database.session() as session:
            session.add(Escalation(conversation_id="c2", reason="request_human", priority="normal", created_at=AT))


def test_the_database_itself_refuses_values_outside_the_vocabularies(db):
    one_row_each(db)
    assert_vocabularies_enforced(db)


def test_the_migrated_database_refuses_values_outside_the_vocabularies(empty_url):
    migrate.upgrade(empty_url)
    database = Database(empty_url)
    one_row_each(database)
    assert_vocabularies_enforced(database)
    database.engine.dispose()


def test_0005_refuses_a_database_holding_values_outside_the_sets_and_changes_nothing(empty_url):
    assert migrate.upgrade(empty_url, "0004") == "0004"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE loans SET status = 'written_off' WHERE id = 'L1001'"))
        for n in range(2):
            connection.execute(text(
                "INSERT INTO escalations (conversation_id, reason, priority, status, taken_over, created_at) "
                f"VALUES ('c{n}', 'request_human', 'normal', 'open', false, '2026-12-01 10:00:00')"))
    with pytest.raises(migrate.MigrationError) as refused:
        migrate.upgrade(empty_url)
    message = str(refused.value)
    assert "revision 0005 not applied" in message
    assert "loans.status: 'written_off' (1 rows); allowed: active, litigation, settled" in message
    assert "escalations.reason: 'request_human' (2 rows)" in message
    assert "escalations.priority" not in message
    assert migrate.current(empty_url) == "0004"
    with database.engine.connect() as connection:
        assert migrate.database_checks(connection) == {}
    with database.engine.begin() as connection:  # corrected, the upgrade goes through
        connection.execute(text("UPDATE loans SET status = 'settled' WHERE id = 'L1001'"))
        connection.execute(text("UPDATE escalations SET reason = 'human'"))
    assert migrate.upgrade(empty_url) == migrate.head()
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    database.engine.dispose()


def test_0005_downgrades_to_the_schema_without_checks_and_keeps_the_data(empty_url):
    assert migrate.upgrade(empty_url) == migrate.head()
    database = Database(empty_url)
    one_row_each(database)
    with database.engine.begin() as connection:  # 0008 keeps the lender's events, 0011 agreements: empty to go
        for table in ("outbox_deliveries", "outbox_events", *migrate.PLAN_TABLES, "reminder_preferences",
                      "plan_offers", "satisfaction_comments", "satisfaction_ratings", "satisfaction_asks",
                      "documents", "document_consents"):
            connection.execute(text(f"DELETE FROM {table}"))
    migrate.downgrade(empty_url, "0004")
    assert migrate.current(empty_url) == "0004"
    with database.engine.connect() as connection:
        assert migrate.database_checks(connection) == {}
        checks = {("add_check_constraint", table, name) for table, name in migrate.model_checks()}
        assert {migrate.difference_key(d) for d in migrate.differences(connection)} == (
            checks | migrate.ADDED_BY_0006 | migrate.ADDED_BY_0007 | migrate.ADDED_BY_0008 | migrate.ADDED_BY_0010
            | migrate.ADDED_BY_0011 | migrate.ADDED_BY_0012 | migrate.ADDED_BY_0013 | migrate.ADDED_BY_0014
            | migrate.ADDED_BY_0015 | migrate.ADDED_BY_0016 | migrate.ADDED_BY_0017)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE escalations SET reason = 'anything'"))
        connection.execute(text("UPDATE escalations SET reason = 'human'"))
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
        assert session.execute(select(Reminder.segment)).scalar_one() == "early"
    assert migrate.upgrade(empty_url) == migrate.head()
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    database.engine.dispose()


def test_the_vocabularies_are_strings_and_agree_with_the_rest_of_the_code():
    assert vocab.RequestStatus.PENDING == "pending" and f"{vocab.RequestStatus.PENDING}" == "pending"
    assert str(vocab.LoanStatus.SETTLED) == "settled"
    assert set(vocab.Segment.values()) == set(SEGMENTS)


def test_a_create_all_database_holding_values_outside_the_sets_is_refused_and_left_unstamped(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(url)
    models_without_checks().create_all(database.engine)
    one_row_each(database)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE staff_members SET role = 'admin'"))
    with pytest.raises(migrate.MigrationError, match=r"staff_members\.role: 'admin' \(1 rows\)"):
        database.create_schema()
    assert "alembic_version" not in inspect(database.engine).get_table_names()
    database.engine.dispose()


def test_the_console_wording_covers_each_vocabulary():
    from kuanxin.console import casework
    tables = [(casework.REASONS, vocab.EscalationReason), (casework.EVENT_KINDS, vocab.EventKind),
              (casework.ACTIONS, vocab.AuditAction), (casework.REQUEST_KINDS, vocab.RequestType),
              (casework.REQUEST_STATUS, vocab.RequestStatus), (casework.ESCALATION_STATUS, vocab.EscalationStatus),
              (casework.PRIORITIES, vocab.Priority)]
    for labels, vocabulary in tables:
        assert set(labels) == set(vocabulary.values())
        assert all(labels[code] and labels[code] != code for code in labels)  # each from the catalogue


def test_0008_adds_the_outbox_keeps_the_data_and_never_drops_recorded_events(empty_url):
    assert migrate.upgrade(empty_url, "0007") == "0007"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    assert migrate.upgrade(empty_url) == migrate.head()
    assert set(migrate.OUTBOX_TABLES) <= set(inspect(database.engine).get_table_names())
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    with database.session() as session:
        session.add(AuditEntry(at=AT, staff="wang", action=vocab.AuditAction.REPLAY_EVENT, target="x"))
    with pytest.raises(migrate.MigrationError, match="revision 0008 not downgraded"):
        migrate.downgrade(empty_url, "0007")
    assert migrate.current(empty_url) == migrate.head()
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries"))
    migrate.downgrade(empty_url, "0007")
    assert not set(migrate.OUTBOX_TABLES) & set(inspect(database.engine).get_table_names())
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    database.engine.dispose()


def phone_tail_indexes(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
        else:
            rows = connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'borrowers'"))
        return {name for (name,) in rows} & set(migrate.ADDED_BY_0009_EXPRESSIONS)


def test_0009_adds_the_phone_tail_index_the_search_uses(empty_url):
    assert migrate.upgrade(empty_url) == migrate.head()
    database = Database(empty_url)
    assert phone_tail_indexes(database) == {"ix_borrowers_phone_tail"}
    query = select(Borrower.id).where(phone_tail(Borrower.phone) == "5678")
    with database.engine.connect() as connection:
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        if connection.dialect.name == "sqlite":
            plan = " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")  # an empty table: make the planner show its way
            plan = " ".join(str(row) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_borrowers_phone_tail" in plan
    migrate.downgrade(empty_url, "0008")
    assert phone_tail_indexes(database) == set()
    database.engine.dispose()


def test_0010_gives_answered_escalations_their_first_response_and_keeps_assignments(empty_url):
    assert migrate.upgrade(empty_url, "0009") == "0009"
    database = Database(empty_url)
    for status, reference in (("claimed", "RG-1"), ("open", "RG-2")):
        insert_as_then(database, "escalations", dict(reference=reference, conversation_id=reference, reason="human",
                                                      priority="normal", status=status, created_at=AT,
                                                      taken_over=False))
    for minutes, action in ((30, "note"), (20, "claim"), (50, "reply")):
        insert_as_then(database, "audit_entries", dict(at=AT + dt.timedelta(minutes=minutes), staff="li",
                                                        action=action, target="RG-1"))
    assert migrate.upgrade(empty_url) == migrate.head()
    with database.session() as session:
        answered = dict(session.execute(select(Escalation.reference, Escalation.first_response_at)).all())
        assert answered == {"RG-1": AT + dt.timedelta(minutes=20), "RG-2": None}
        session.add(AuditEntry(at=AT, staff="wang", action=vocab.AuditAction.ASSIGN, target="RG-2"))
    with pytest.raises(migrate.MigrationError, match="revision 0010 not downgraded"):
        migrate.downgrade(empty_url, "0009")
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE action = 'assign'"))
    migrate.downgrade(empty_url, "0009")
    assert "available" not in {c["name"] for c in inspect(database.engine).get_columns("staff_members")}
    database.engine.dispose()


def test_0011_adds_decisions_agreements_and_plans_and_never_drops_them(empty_url):
    assert migrate.upgrade(empty_url, "0010") == "0010"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    assert migrate.upgrade(empty_url) == migrate.head()
    assert set(migrate.PLAN_TABLES) <= set(inspect(database.engine).get_table_names())
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    one_plan_row_each(database)
    with database.session() as session:
        session.add(AuditEntry(at=AT, staff="assistant", action=vocab.AuditAction.AUTOMATED_DECISION, target="FQ-1"))
    with pytest.raises(migrate.MigrationError, match="revision 0011 not downgraded.*1 agreements"):
        migrate.downgrade(empty_url, "0010")
    assert migrate.current(empty_url) == migrate.head()
    with database.engine.begin() as connection:
        for table in ("repayment_plans", "agreements", "plan_decisions", "audit_entries"):
            connection.execute(text(f"DELETE FROM {table}"))
    migrate.downgrade(empty_url, "0010")
    assert not set(migrate.PLAN_TABLES) & set(inspect(database.engine).get_table_names())
    with database.session() as session:
        assert session.execute(select(Borrower.phone).where(Borrower.id == "B1001")).scalar_one() == "13812345678"
    database.engine.dispose()


def test_0015_adds_satisfaction_and_never_drops_what_borrowers_said(empty_url):
    assert migrate.upgrade(empty_url, "0014") == "0014"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    assert migrate.upgrade(empty_url) == migrate.head()
    assert set(migrate.SATISFACTION_TABLES) <= set(inspect(database.engine).get_table_names())
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    one_satisfaction_row(database)
    with pytest.raises(IntegrityError, match="uq_satisfaction_asks_asker_day|UNIQUE constraint failed"):
        with database.session() as session:  # the once-a-day rule is the database's own
            session.add(SatisfactionAsk(conversation_id="c9", borrower_id="B1001", asker="borrower:B1001",
                                        day=AT.date(), topic="check_overdue", outcome="answered", asked_at=AT))
    with pytest.raises(migrate.MigrationError, match="revision 0015 not downgraded.*1 satisfaction questions"):
        migrate.downgrade(empty_url, "0014")
    assert migrate.current(empty_url) == migrate.head()  # refused as a whole: nothing changed
    with database.engine.begin() as connection:
        for table in ("satisfaction_ratings", "satisfaction_asks"):
            connection.execute(text(f"DELETE FROM {table}"))
    migrate.downgrade(empty_url, "0014")
    assert not set(migrate.SATISFACTION_TABLES) & set(inspect(database.engine).get_table_names())
    database.engine.dispose()


def test_0013_adds_revocations_and_the_new_values_and_never_drops_what_they_recorded(empty_url):
    assert migrate.upgrade(empty_url, "0012") == "0012"
    database = Database(empty_url)
    load_as_then(database, demo_document())
    # a plan that ended before 0013 is not told again after it
    insert_as_then(database, "repayment_plans", {
        "id": 1, "agreement_number": "XY20261201-0001", "borrower_id": "B1001", "loan_id": "L1001",
        "kind": "installment", "starts_on": AT.date(), "payments": "[]", "status": "broken", "open_key": None,
        "ended_on": AT.date()})
    assert migrate.upgrade(empty_url) == migrate.head()
    with database.engine.connect() as connection:
        assert migrate.differences(connection) == []
    with database.session() as session:
        assert session.execute(select(RepaymentPlan.told_at)).scalar_one() is not None
        session.execute(text("UPDATE repayment_plans SET status = 'revoked'"))
        session.add(AuditEntry(at=AT, staff="wang", action=vocab.AuditAction.REVOKE_PLAN, target="XY-1"))
    with pytest.raises(migrate.MigrationError, match="revision 0013 not downgraded.*1 revoked plans"):
        migrate.downgrade(empty_url, "0012")
    assert migrate.current(empty_url) == migrate.head()
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE repayment_plans SET status = 'broken'"))
        connection.execute(text("DELETE FROM audit_entries WHERE action = 'revoke_plan'"))
    migrate.downgrade(empty_url, "0012")
    assert not set(migrate.PLAN_STAFF_TABLES) & set(inspect(database.engine).get_table_names())
    assert "told_at" not in {c["name"] for c in inspect(database.engine).get_columns("repayment_plans")}
    database.engine.dispose()
