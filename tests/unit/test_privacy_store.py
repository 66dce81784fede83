"""Privacy against the real stores: Rasa's SQL tracker store (SQLite and PostgreSQL) behind the store wrapper
runtime.main installs, the account database, and the privacy commands (retention, export, delete) on both."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, inspect, select, text, update

from kuanxin.console import privacy
from kuanxin.console.casework import Casework
from kuanxin.console.staff import Staff
from kuanxin.core import clock, policy
from kuanxin.core.policy import PrivacyPolicy
from kuanxin.core.vocab import AuditAction
from kuanxin.store import importer, migrate
from kuanxin.store.accounts import Accounts
from kuanxin.store.db import Database
from kuanxin.store.models import AuditEntry, ConversationNote, Escalation, PendingPhone, SenderBinding, ServiceRequest
from kuanxin.store.transcripts import EVENTS, Transcripts
from runtime import main as rasa_main
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.unit.test_importer import GOOD

PHONE, ID_NUMBER = "13812345678", "11010119900307123X"
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=clock.BEIJING)
DAY = 86400.0
DOMAIN = Domain.from_dict({
    "intents": ["inform", "check_overdue", "dispute_debt"],
    "slots": {name: {"type": "any", "mappings": [{"type": "custom"}]}
              for name in ("phone_number", "id_last4", "verified", "borrower_id", "deferral_reason")}})
AGENT = Staff(1, "wang", "王小明", "supervisor")
PLACEHOLDER = "(已按个人信息保护要求删除)"


def no_full_number(stored: str) -> bool:
    """Neither number anywhere, also with separators or JSON escapes between its digits."""
    digits = re.sub(r"[^0-9Xx]", "", stored.encode().decode("unicode_escape", errors="ignore"))
    return PHONE not in digits and ID_NUMBER[:14] not in digits and PHONE not in stored


def tracker_store_url(dialect: str, tmp_path) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.db'}"
    url = POSTGRES_URL + "_tracker"  # one per xdist worker, as the account databases
    admin = create_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        name = url.rsplit("/", 1)[1]
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS events"))
    engine.dispose()
    return url


@pytest.fixture
def stores(db, tmp_path):
    """The account database (SQLite or PostgreSQL) and a Rasa SQL tracker store on the same kind of database,
    wrapped as Rasa wraps it, with kuanxin's runtime installed."""
    rasa_main.install()
    url = tracker_store_url(db.engine.dialect.name, tmp_path)
    rasa_store = FailSafeTrackerStore(SQLTrackerStore(DOMAIN, host=url))
    importer.load_document(db, GOOD)
    transcripts = Transcripts(url)
    yield db, rasa_store, transcripts
    transcripts.close()
    rasa_store._tracker_store.engine.dispose()


def conversation(sender: str, at: float) -> DialogueStateTracker:
    """Identity check in two turns (phone typed with spaces; the whole ID number by mistake), then a question."""
    said = {"name": "inform", "confidence": 0.93}
    events = [
        SessionStarted(timestamp=at), ActionExecuted("action_listen", timestamp=at + 1),
        UserUttered("我的手机号 138 1234 5678", said, [{"entity": "phone_number", "value": PHONE, "start": 6,
                                                       "end": 19}], timestamp=at + 2, message_id=f"{sender}-1"),
        SlotSet("phone_number", PHONE, timestamp=at + 3),
        BotUttered("好的。请再告诉我您身份证号码的最后4位", timestamp=at + 4),
        UserUttered(f"身份证 {ID_NUMBER}", said, timestamp=at + 5, message_id=f"{sender}-2"),
        SlotSet("id_last4", "****", timestamp=at + 6), SlotSet("verified", True, timestamp=at + 6),
        SlotSet("borrower_id", "B1", timestamp=at + 6),
        BotUttered("身份核实成功(138****5678),谢谢您的配合。", timestamp=at + 7),
        UserUttered("我失业了，还不上", {"name": "check_overdue", "confidence": 0.8}, timestamp=at + 8),
        SlotSet("deferral_reason", "失业 电话13812345678", timestamp=at + 9),
        BotUttered("您好,我是王小明", {"custom": {"kuanxin_staff": {"name": "王小明"}}}, timestamp=at + 10),
    ]
    return DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)


def save(store, tracker) -> None:
    asyncio.run(store.save(tracker))


def rows(transcripts: Transcripts, sender: str | None = None) -> list:
    query = select(EVENTS).order_by(EVENTS.c.id)
    if sender:
        query = query.where(EVENTS.c.sender_id == sender)
    with transcripts.engine.connect() as connection:
        return connection.execute(query).all()


def test_the_store_keeps_no_full_number_and_the_turn_reads_them_whole(stores):
    _db, store, transcripts = stores
    tracker = conversation("c1", NOW.timestamp())
    save(store, tracker)
    stored = rows(transcripts)
    assert len(stored) == len(tracker.events)
    assert all(no_full_number(row.data) for row in stored), [row.data for row in stored]
    user = json.loads(stored[2].data)
    assert user["text"] == "我的手机号 138****5678" and user["parse_data"]["entities"][0]["value"] == "138****5678"
    assert user["message_id"] == "c1-1"  # a re-sent message is still found by its id
    assert json.loads(stored[5].data)["text"] == "身份证 110101********123X"
    assert json.loads(stored[3].data)["value"] == "138****5678"
    # the turn's own tracker is untouched: the actions read what was typed
    assert tracker.events[2].text == "我的手机号 138 1234 5678" and tracker.get_slot("phone_number") == PHONE
    back = asyncio.run(store.retrieve("c1"))
    assert back.get_slot("phone_number") == "138****5678" and back.get_slot("verified") is True
    # a later turn appends to the stored (masked) events: only the new ones are written, masked as well
    back.update(UserUttered("换个号 139-0000-1111", {"name": "inform", "confidence": 0.9},
                            timestamp=NOW.timestamp() + 60))
    save(store, back)
    assert len(rows(transcripts)) == len(tracker.events) + 1
    assert json.loads(rows(transcripts)[-1].data)["text"] == "换个号 139****1111"


def test_only_the_events_added_since_the_store_was_read_are_looked_at_again(stores, monkeypatch):
    from runtime import privacy as runtime_privacy
    _db, store, transcripts = stores
    save(store, conversation("c3", NOW.timestamp()))
    back = asyncio.run(store.retrieve("c3"))
    said = {"name": "inform", "confidence": 0.9}
    back.update(UserUttered("新号码 13900001111", said, timestamp=NOW.timestamp() + 60))
    back.update(SlotSet("phone_number", "13900001111", timestamp=NOW.timestamp() + 61))
    looked_at = []
    monkeypatch.setattr(runtime_privacy, "redacted", lambda event: looked_at.append(event) or
                        runtime_privacy.Event.from_parameters(runtime_privacy.redacted_event(event.as_dict())))
    save(store, back)
    assert looked_at == list(back.events)[-2:]
    written = [json.loads(row.data) for row in rows(transcripts, "c3")][-2:]
    assert (written[0]["text"], written[1]["value"]) == ("新号码 139****1111", "139****1111")
    assert back.latest_message.text == "新号码 13900001111"  # the turn's own tracker keeps what was typed


def test_nothing_to_mask_saves_the_tracker_itself():
    from runtime.privacy import redacted_tracker
    tracker = DialogueStateTracker.from_events("c2", [ActionExecuted("action_listen"), UserUttered("你好")],
                                               slots=DOMAIN.slots)
    assert redacted_tracker(tracker) is tracker


def open_cases(db) -> dict[str, str]:
    """c-old: nobody's, with a resolved complaint; c-held: B1's open dispute; c-held-2: B1's other conversation."""
    accounts, at = Accounts(db), NOW - dt.timedelta(days=200)
    accounts.start_session("c-old", None, at)
    resolved, _ = accounts.open_escalation(conversation_id="c-old", borrower_id=None, reason="collection_abuse",
                                           priority="high", channel="rest", summary="催收打我电话", today=at.date(),
                                           now=at)
    Casework(db).resolve(resolved.id, AGENT, "已核实并处理", at)
    dispute, _ = accounts.open_escalation(conversation_id="c-held", borrower_id="B1", reason="dispute",
                                          priority="normal", channel="rest", summary=f"这笔钱不是我借的 {PHONE}",
                                          today=at.date(), now=at)
    accounts.start_session("c-held-2", "B1", at)
    return {"dispute": dispute.reference}


def snapshot(transcripts: Transcripts) -> list:
    return [tuple(row) for row in rows(transcripts)]


def test_retention_anonymises_old_transcripts_except_open_cases_and_runs_once(stores):
    db, store, transcripts = stores
    old, recent = (NOW - dt.timedelta(days=200)).timestamp(), (NOW - dt.timedelta(days=1)).timestamp()
    for sender, at in (("c-old", old), ("c-held", old), ("c-held-2", old), ("c-recent", recent)):
        save(store, conversation(sender, at))
    cases = open_cases(db)
    Accounts(db).keep_phone("c-typing", "13900001111", NOW, 30)
    Accounts(db).keep_phone("c-waiting", PHONE, NOW - dt.timedelta(hours=2), 30)  # expired by NOW
    rules, before = PrivacyPolicy(transcript_days=180), snapshot(transcripts)

    planned = privacy.run_retention(db, transcripts, rules, "cli:test", NOW, dry_run=True)
    assert snapshot(transcripts) == before and audit_entries(db, "privacy_retention") == []
    assert planned.transcripts.conversations == {"c-old"} and planned.transcripts.kept == {"c-held", "c-held-2"}
    assert planned.held["c-held"] == planned.held["c-held-2"] == cases["dispute"]
    assert planned.expired_phones == 1

    done = privacy.run_retention(db, transcripts, rules, "cli:test", NOW)
    assert (done.transcripts.events, done.transcripts.conversations) == (planned.transcripts.events, {"c-old"})
    after = snapshot(transcripts)
    # every row keeps its id, sender, kind, timestamp, intent and action: counts over the store are the same
    assert [row[:6] for row in after] == [row[:6] for row in before]
    for row_before, row_after in zip(before, after, strict=True):
        if row_after[1] != "c-old":
            assert row_after == row_before
    anonymous = [json.loads(row[6]) for row in after if row[1] == "c-old"]
    assert {e["text"] for e in anonymous if e["event"] in ("user", "bot")} == {PLACEHOLDER}
    assert {e["name"]: e["value"] for e in anonymous if e["event"] == "slot"} == {
        "phone_number": None, "id_last4": None, "verified": True, "borrower_id": None, "deferral_reason": None}
    assert anonymous[-1]["data"] == {"custom": {"kuanxin_staff": {"name": "王小明"}}}
    back = asyncio.run(store.retrieve_full_tracker("c-old"))  # Rasa reads the anonymised conversation
    assert len(back.events) == len(anonymous) and back.get_slot("verified") is True
    with db.session() as session:
        assert session.execute(select(PendingPhone.conversation_id)).scalars().all() == ["c-typing"]
    assert len(audit_entries(db, "privacy_retention")) == 1

    again = privacy.run_retention(db, transcripts, rules, "cli:test", NOW)
    assert (again.transcripts.events, again.expired_phones) == (0, 0) and snapshot(transcripts) == after
    assert len(audit_entries(db, "privacy_retention")) == 1  # a run that changed nothing records nothing

    with db.session() as session:  # the dispute is resolved: its conversations go the way of the others
        session.execute(update(Escalation).where(Escalation.reference == cases["dispute"]).values(status="resolved"))
    later = privacy.run_retention(db, transcripts, rules, "cli:test", NOW)
    assert later.transcripts.conversations == {"c-held", "c-held-2"} and not later.transcripts.kept
    assert [row for row in snapshot(transcripts) if row[1] == "c-recent"] == [
        row for row in before if row[1] == "c-recent"]  # 1 day old: as it was


def audit_entries(db, action: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def borrower_history(db, store) -> None:
    """B1's conversations and records, several holding their phone number in free text."""
    at = NOW - dt.timedelta(days=3)
    for sender in ("c-held", "c-web"):
        save(store, conversation(sender, at.timestamp()))
    open_cases(db)
    accounts = Accounts(db)
    accounts.start_session("c-web", "B1", at)
    accounts.bind_sender(sender_id="wx-openid-1", channel="wechat", borrower_id="B1", now=at)
    accounts.submit_request(borrower_id="B1", loan_id="L1", kind="installment", conversation_id="c-web",
                            today=at.date(), now=at, periods=6, reason=f"失业了 联系我{PHONE}")
    Casework(db).add_note("c-web", AGENT, f"借款人说身份证是{ID_NUMBER},电话 138 1234 5678", at)
    accounts.verify_identity(PHONE, "123X", "c-web", at, policy.current().identity)


def test_export_writes_everything_held_with_no_full_number(stores, tmp_path):
    db, store, transcripts = stores
    borrower_history(db, store)
    done = privacy.export_borrower(db, transcripts, "B1", tmp_path / "out", "cli:test", NOW)
    document = json.loads(done.json_path.read_text(encoding="utf-8"))
    page = done.html_path.read_text(encoding="utf-8")
    assert no_full_number(done.json_path.read_text(encoding="utf-8")) and no_full_number(page)
    records = document["records"]
    assert records["borrowers"][0]["phone"] == "138****5678"
    assert records["borrowers"][0]["id_masked"] == "110101********123X"
    assert {"loans", "schedule_rows", "service_requests", "escalations", "conversation_notes", "sender_bindings",
            "conversation_sessions", "identity_attempts", "audit_entries"} <= set(records)
    assert records["service_requests"][-1]["reason"] == "失业了 联系我138****5678"
    assert records["conversation_notes"][0]["text"] == "借款人说身份证是110101********123X,电话 138****5678"
    assert set(document["conversations"]) == {"c-held", "c-web"}  # B1's conversations the store holds
    assert document["conversations"]["c-web"][2]["text"] == "我的手机号 138****5678"
    assert "个人信息副本:B1" in page and "我的手机号 138****5678" in page and "人工客服" in page
    assert [e.target for e in audit_entries(db, "privacy_export")] == ["B1"]


def test_delete_is_refused_while_a_dispute_is_open_then_anonymises_what_the_law_allows(stores):
    db, store, transcripts = stores
    borrower_history(db, store)
    before = snapshot(transcripts)
    with pytest.raises(privacy.StillOpen) as refused:
        privacy.delete_borrower(db, transcripts, "B1", "cli:test", NOW)
    assert refused.value.references and refused.value.references[0].startswith("RG")
    assert snapshot(transcripts) == before and audit_entries(db, "privacy_delete") == []

    with db.session() as session:
        session.execute(update(Escalation).where(Escalation.reason == "dispute").values(status="resolved"))
    done = privacy.delete_borrower(db, transcripts, "B1", "cli:test", NOW)
    assert {"c-held", "c-web"} <= done.transcripts.conversations
    for sender in ("c-held", "c-web"):
        said = [json.loads(row.data) for row in rows(transcripts, sender)]
        assert {e["text"] for e in said if e["event"] == "user"} == {PLACEHOLDER}
    with db.session() as session:
        assert session.execute(select(SenderBinding)).scalars().all() == []
        assert {n.text for n in session.execute(select(ConversationNote)).scalars()} == {PLACEHOLDER}
        request = session.execute(select(ServiceRequest).where(ServiceRequest.periods == 6)).scalar_one()
        assert (request.reason, request.status, request.borrower_id) == (PLACEHOLDER, "pending", "B1")
        escalations = session.execute(select(Escalation)).scalars().all()
        assert len(escalations) == 2 and {e.summary for e in escalations if e.borrower_id == "B1"} == {PLACEHOLDER}
        notes_audit = session.execute(select(AuditEntry).where(AuditEntry.action == "note")).scalar_one()
        assert notes_audit.detail == PLACEHOLDER and notes_audit.staff == "wang"
    assert done.records["sender_bindings"] == 1 and done.records["conversation_notes.text"] == 1
    assert [e.target for e in audit_entries(db, "privacy_delete")] == ["B1"]
    snapshot_after = snapshot(transcripts)
    again = privacy.delete_borrower(db, transcripts, "B1", "cli:test", NOW)
    assert again.transcripts.events == 0 and not any(again.records.values())
    assert snapshot(transcripts) == snapshot_after


@pytest.fixture
def command_line(stores, monkeypatch):
    """`kuanxin …` in this process, on these stores: (main, the tracker store's URL)."""
    from kuanxin.ops import cli
    from kuanxin.store.db import database
    db, _store, transcripts = stores
    monkeypatch.setenv("KUANXIN_DATABASE_URL", db.url)
    database.cache_clear()  # made once per process: this test's database, not an earlier test's
    yield cli.main, transcripts.engine.url.render_as_string(hide_password=False)
    database.cache_clear()


def test_the_command_line_runs_retention_as_a_dry_run_first(stores, command_line, capsys):
    db, store, transcripts = stores
    main, url = command_line
    save(store, conversation("c-older", (clock.now() - dt.timedelta(days=400)).timestamp()))
    assert main(["privacy", "retention", "--dry-run", "--tracker-store", url]) == 0
    printed = capsys.readouterr().out
    assert "[dry run: nothing changed]" in printed and "would anonymise 10 events in 1 conversations" in printed
    assert main(["privacy", "retention", "--tracker-store", url, "--by", "ops"]) == 0
    assert "anonymise 10 events in 1 conversations" in capsys.readouterr().out
    assert [entry.staff for entry in audit_entries(db, "privacy_retention")] == ["ops"]
    assert main(["privacy", "retention", "--tracker-store", url]) == 0
    assert "anonymise 0 events" in capsys.readouterr().out
    assert main(["privacy", "delete", "B404", "--tracker-store", url]) == 1


def test_the_in_memory_store_of_make_run_keeps_no_full_number_either():
    from rasa.core.tracker_store import InMemoryTrackerStore
    rasa_main.install()
    store = FailSafeTrackerStore(InMemoryTrackerStore(DOMAIN))
    save(store, conversation("c-memory", NOW.timestamp()))
    assert no_full_number(store._tracker_store.store["c-memory"])
    assert asyncio.run(store.retrieve("c-memory")).get_slot("phone_number") == "138****5678"


def test_every_process_masks_its_log_records():
    """Rasa (runtime.main), the action server (it imports the actions package first) and the web app."""
    import importlib
    import logging

    import actions
    from web.app import create_app

    plain = logging.getLogRecordFactory()
    try:
        for start in (rasa_main.install, lambda: importlib.reload(actions), create_app):
            logging.setLogRecordFactory(logging.LogRecord)
            start()
            assert getattr(logging.getLogRecordFactory(), "masks_numbers", False), start
    finally:
        logging.setLogRecordFactory(plain)


@pytest.fixture(params=BACKENDS)
def migrated_url(request, tmp_path):
    from tests.unit.test_migrations import fresh_postgres
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    return fresh_postgres(POSTGRES_URL.rsplit("/", 1)[1] + "_privacy_migration")


def test_0007_adds_the_privacy_audit_actions_and_is_undone_only_without_them(migrated_url):
    assert migrate.upgrade(migrated_url, "0006") == "0006"
    database = Database(migrated_url)
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_entries (at, staff, action, detail) "
                                "VALUES ('2026-12-01 10:00:00', 'li', 'note', 'kept')"))
    assert migrate.upgrade(migrated_url) == migrate.head()
    privacy.audit(database, AuditAction.PRIVACY_EXPORT, "cli:test", NOW, "B1001", "written")
    Accounts(database).keep_phone("c1", PHONE, NOW, 30)
    with pytest.raises(migrate.MigrationError, match="1 audit entries record privacy commands"):
        migrate.downgrade(migrated_url, "0006")
    assert migrate.current(migrated_url) == migrate.head()
    with database.engine.begin() as connection:  # (a test may; the console cannot)
        connection.execute(text("DELETE FROM audit_entries WHERE action = 'privacy_export'"))
    migrate.downgrade(migrated_url, "0006")
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT detail FROM audit_entries")).scalars().all() == ["kept"]
        assert "identity_pending_phones" not in inspect(connection).get_table_names()
    database.engine.dispose()


def test_a_store_written_before_masking_is_masked_once(stores, command_line, capsys):
    db, store, transcripts = stores
    main, url = command_line
    save(store._tracker_store, conversation("c-legacy", NOW.timestamp()))  # Rasa's own save, as before kuanxin
    assert not all(no_full_number(row.data) for row in rows(transcripts))
    assert main(["privacy", "mask-stored", "--dry-run", "--tracker-store", url]) == 0
    assert "would mask full numbers in 4 events of 1 conversations [dry run" in capsys.readouterr().out
    assert not all(no_full_number(row.data) for row in rows(transcripts))
    assert main(["privacy", "mask-stored", "--tracker-store", url]) == 0
    assert all(no_full_number(row.data) for row in rows(transcripts))
    assert asyncio.run(store.retrieve("c-legacy")).get_slot("phone_number") == "138****5678"
    assert privacy.mask_stored(db, transcripts, "cli:test").events == 0
    assert len(audit_entries(db, "privacy_retention")) == 1
