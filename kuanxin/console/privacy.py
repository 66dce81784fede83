"""The privacy commands (kuanxin privacy …): a borrower's copy of their data, a deletion request, and
anonymising transcripts past the policy's keeping time. Each run that acts writes its audit entry.

The account database is reached through kuanxin.store.personal_data, the conversation store (Rasa's SQL
tracker store) through kuanxin.store.transcripts; without a conversation store (conversations in memory)
there are no transcripts to export, delete or keep.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import delete, func, select

from kuanxin.core import clock, texts
from kuanxin.core.policy import PrivacyPolicy
from kuanxin.core.staff_reply import staff_name
from kuanxin.core.vocab import AuditAction
from kuanxin.evidence import documents
from kuanxin.evidence.storage import Storage
from kuanxin.evidence.storage import configured as configured_storage
from kuanxin.lending.identity import mask_phone
from kuanxin.lending.privacy import masked, redacted_event
from kuanxin.store import personal_data
from kuanxin.store.accounts import utc_naive
from kuanxin.store.db import Database
from kuanxin.store.models import AuditEntry, PendingPhone
from kuanxin.store.transcripts import Anonymised, Transcripts

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
PHONE_COLUMNS = ("phone",)  # shown masked in an export; every other text has its numbers masked
# the order a person reads an export in; a table not named here comes last
READING_ORDER = ("borrowers", "loans", "schedule_rows", "payments", "service_requests", "payment_promises",
                 "escalations", "conversation_notes", "conversation_sessions", "sender_bindings", "reminders",
                 "reminder_opt_outs", "safety_flags", "identity_attempts", "identity_pending_phones", "audit_entries")


class StillOpen(RuntimeError):
    """A deletion refused: a dispute or complaint by or about the borrower is open (its references)."""

    def __init__(self, references: list[str]):
        super().__init__(", ".join(references))
        self.references = references


class UnknownBorrower(LookupError):
    pass


def placeholder() -> str:
    """What anonymised words are replaced by: a catalogue text, since a borrower may come across it."""
    return texts.text("privacy.anonymised")


def audit(db: Database, action: AuditAction, by: str, now: dt.datetime, target: str | None, detail: str) -> None:
    with db.session() as session:
        session.add(AuditEntry(at=utc_naive(now), staff=by[:64], action=action, target=target, detail=detail))


# --------------------------------------------------------------------------- export

@dataclass(frozen=True)
class Export:
    json_path: Path
    html_path: Path
    records: dict[str, int]  # rows by table
    conversations: int
    events: int


def export_borrower(db: Database, transcripts: Transcripts | None, borrower_id: str, out: Path, by: str,
                    now: dt.datetime | None = None) -> Export:
    """Writes kuanxin-export-<borrower>.json and .html to `out`: every record of theirs (phone and ID numbers
    masked) and their conversations as stored. Audited."""
    now = now or clock.now()
    found = personal_data.records_of(db, borrower_id)
    if found is None:
        raise UnknownBorrower(borrower_id)
    person, records = found
    events = transcripts.events_of(person.conversations) if transcripts else {}
    document = {"borrower_id": borrower_id, "written_at": now.isoformat(timespec="seconds"),
                "records": {table: [shown_row(row) for row in records[table]] for table in sorted(records, key=_place)},
                # as stored; masked again in case the store holds events saved before masking existed
                "conversations": {masked(sender): [redacted_event(event) for event in events[sender]]
                                  for sender in sorted(events)}}
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"kuanxin-export-{borrower_id}"
    json_path, html_path = stem.with_suffix(".json"), stem.with_suffix(".html")
    json_path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    html_path.write_text(export_page(document), encoding="utf-8")
    exported = Export(json_path, html_path, {table: len(rows) for table, rows in records.items()},
                      len(events), sum(map(len, events.values())))
    audit(db, AuditAction.PRIVACY_EXPORT, by, now, borrower_id,
          f"{sum(exported.records.values())} records, {exported.conversations} conversations "
          f"({exported.events} events) written to {json_path.name} and {html_path.name}")
    return exported


def _place(table: str) -> int:
    return READING_ORDER.index(table) if table in READING_ORDER else len(READING_ORDER)


def shown_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the export shows it: JSON values, phone numbers masked, numbers in free text masked."""
    return {name: mask_phone(value) if name in PHONE_COLUMNS and isinstance(value, str) else masked(_plain(value))
            for name, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def export_page(document: dict[str, Any]) -> str:
    """The export as one page a person can read: a table per kind of record, each conversation as lines."""
    sections = [{"title": _table_title(table), "columns": list(rows[0]) if rows else [], "rows": rows}
                for table, rows in document["records"].items()]
    conversations = [{"title": texts.text("privacy.export.conversation", conversation=sender),
                      "lines": list(_transcript_lines(events))}
                     for sender, events in document["conversations"].items()]
    words = {key: texts.text(f"privacy.export.{key}") for key in ("records", "conversations", "none")}
    return TEMPLATES.get_template("privacy_export.html").render(
        title=texts.text("privacy.export.title", borrower=document["borrower_id"]),
        intro=texts.text("privacy.export.intro", written_at=document["written_at"]),
        sections=sections, conversations=conversations, words=words)


def _table_title(table: str) -> str:
    key = f"privacy.export.table.{table}"
    return texts.text(key) if key in texts.catalogue() else table


def _transcript_lines(events: Iterable[dict[str, Any]]) -> Iterable[dict[str, str]]:
    for event in events:
        if event.get("event") not in ("user", "bot") or not event.get("text"):
            continue
        speaker = "user" if event["event"] == "user" else "staff" if staff_name(event.get("data") or {}) else "bot"
        yield {"at": _time(event.get("timestamp")), "speaker": texts.text(f"privacy.export.speaker.{speaker}"),
               "text": str(event["text"])}


def _time(timestamp: Any) -> str:
    if not isinstance(timestamp, (int, float)):
        return ""
    return dt.datetime.fromtimestamp(timestamp, clock.BEIJING).strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- delete

@dataclass(frozen=True)
class Deletion:
    records: dict[str, int]  # rows changed, by table.column (free text) or table (removed)
    transcripts: Anonymised
    documents: int = 0  # attached documents whose stored files were deleted


def delete_borrower(db: Database, transcripts: Transcripts | None, borrower_id: str, by: str,
                    now: dt.datetime | None = None, storage: Storage | None = None) -> Deletion:
    """A deletion request: their conversations anonymised, bindings removed, free text in the records the
    lender keeps replaced, the files of the documents they attached deleted (`storage`: the configured one).
    Refused (StillOpen) while a dispute or complaint of theirs is open. Audited."""
    now = now or clock.now()
    found = personal_data.records_of(db, borrower_id)
    if found is None:
        raise UnknownBorrower(borrower_id)
    open_cases = personal_data.open_cases_of(db, borrower_id)
    if open_cases:
        raise StillOpen(open_cases)
    person, _records = found
    said = transcripts.anonymise_conversations(person.conversations, placeholder()) if transcripts else Anonymised()
    changed = personal_data.anonymise_records(db, borrower_id, placeholder())
    files = documents.delete_borrowers(db, storage or configured_storage(), borrower_id, now)
    records = ", ".join(f"{name} {count}" for name, count in changed.items() if count) or "no record changed"
    audit(db, AuditAction.PRIVACY_DELETE, by, now, borrower_id,
          f"{said.events} events in {len(said.conversations)} conversations anonymised; {records}; "
          f"{files} attached documents deleted")
    return Deletion(changed, said, files)


# --------------------------------------------------------------------------- retention

@dataclass
class Retention:
    cutoff: dt.datetime
    transcripts: Anonymised = field(default_factory=Anonymised)
    held: dict[str, str] = field(default_factory=dict)  # conversation -> the open case keeping it whole
    expired_phones: int = 0  # phone numbers that waited for an ID tail longer than the policy allows


def run_retention(db: Database, transcripts: Transcripts | None, rules: PrivacyPolicy, by: str,
                  now: dt.datetime | None = None, dry_run: bool = False) -> Retention:
    """Anonymises transcripts older than the policy's transcript_days, except those of open disputes and
    complaints; removes expired waiting phone numbers. A dry run changes nothing. Audited when it changed."""
    now = now or clock.now()
    done = Retention(cutoff=now - dt.timedelta(days=rules.transcript_days), held=personal_data.conversations_held(db))
    if transcripts is not None:
        done.transcripts = transcripts.anonymise_before(done.cutoff, placeholder(), done.held, dry_run)
    done.expired_phones = _expired_phones(db, now, dry_run)
    if not dry_run and (done.transcripts.events or done.expired_phones):
        audit(db, AuditAction.PRIVACY_RETENTION, by, now, None,
              f"before {done.cutoff:%Y-%m-%d %H:%M} ({rules.transcript_days} days): {done.transcripts.events} events "
              f"in {len(done.transcripts.conversations)} conversations anonymised, "
              f"{len(done.transcripts.kept)} kept for open cases; {done.expired_phones} expired phone numbers removed")
    return done


def _expired_phones(db: Database, now: dt.datetime, dry_run: bool) -> int:
    expired = PendingPhone.expires_at <= utc_naive(now)
    with db.session() as session:
        if dry_run:
            return session.execute(select(func.count()).select_from(PendingPhone).where(expired)).scalar_one()
        return session.execute(delete(PendingPhone).where(expired)).rowcount  # type: ignore[attr-defined]


def mask_stored(db: Database, transcripts: Transcripts, by: str, now: dt.datetime | None = None,
                dry_run: bool = False) -> Anonymised:
    """Masks the full numbers of events saved before kuanxin masked what it saves (once, after upgrading).
    Audited when it changed something."""
    done = transcripts.mask_numbers(dry_run)
    if done.events and not dry_run:
        audit(db, AuditAction.PRIVACY_RETENTION, by, now or clock.now(), None,
              f"full numbers masked in {done.events} events of {len(done.conversations)} conversations "
              "saved before masking")
    return done
