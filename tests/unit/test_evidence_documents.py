"""Accepting documents on a real database and storage: nothing stored without consent, every refusal leaves nothing
behind, what is stored is the cleaned file sealed under a random key, staff views and the retention purge audited."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import threading

import pytest
from PIL import Image
from sqlalchemy import select

from kuanxin.core.policy import DocumentPolicy
from kuanxin.core.vocab import AuditAction, ConsentDecision, DocumentPurpose
from kuanxin.evidence import consent
from kuanxin.evidence.cleaning import Refused
from kuanxin.evidence.documents import (
    Gone,
    NoConsent,
    Upload,
    accept,
    for_conversations,
    open_for_staff,
    purge,
    received_text,
)
from kuanxin.evidence.sealing import Sealer
from kuanxin.evidence.storage import LocalFolder
from kuanxin.evidence.targets import Target, target_for
from kuanxin.store.models import AuditEntry, Document, DocumentConsent
from tests.unit import evidence_files as files
from tests.unit.evidence_files import GPS_IFD

NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.timezone.utc)
RULES = DocumentPolicy(max_per_request=3)
SEALER = Sealer("test key")


@pytest.fixture
def store(tmp_path):
    return LocalFolder(tmp_path / "documents")


def stored_objects(store: LocalFolder) -> list:
    return [path for path in store.root.rglob("*") if path.is_file()] if store.root.exists() else []


def hardship(data: bytes, name: str = "诊断证明.jpg", reference: str | None = "FQ20261206-0001",
             conversation: str = "c1") -> Upload:
    return Upload("B1001", conversation, "webchat", "hardship", reference, name, data)


def agree(db, borrower="B1001", at=NOW):
    shown = consent.consent_text("zh")
    return consent.give(db, borrower, shown_sha256=shown.sha256, language="zh", channel="webchat",
                        conversation_id="c1", now=at)


def actions(db) -> list[str]:
    with db.session() as session:
        return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def test_without_consent_nothing_is_stored(db, store):
    with pytest.raises(NoConsent):
        accept(db, store, SEALER, hardship(files.jpeg_with_gps()), RULES, NOW)
    assert stored_objects(store) == []
    with db.session() as session:
        assert session.execute(select(Document)).first() is None
    assert actions(db) == []


def test_the_consent_text_names_purpose_storage_viewers_retention_and_withdrawal(policy):
    shown = consent.consent_text("zh", policy)
    for words in ("用途", "保存什么", "谁能看", f"保存多久:{policy.documents.retention_days}天", "怎样撤回",
                  policy.lender.hotline, "个人信息保护法"):
        assert words in shown.text
    assert shown.version == "documents.consent.v1"
    assert shown.sha256 == hashlib.sha256(shown.text.encode()).hexdigest()
    assert consent.consent_text("en", policy).sha256 != shown.sha256


def test_consent_is_recorded_with_its_text_version_and_digest_and_can_be_withdrawn(db, store):
    row = agree(db)
    assert (row.decision, row.text_version, row.language, row.channel) == ("given", "documents.consent.v1", "zh",
                                                                            "webchat")
    assert row.text_sha256 == consent.consent_text("zh").sha256
    assert consent.has_consent(db, "B1001") and not consent.has_consent(db, "B1002")
    with pytest.raises(consent.StaleConsentText):  # a digest of other words is no consent to these
        consent.give(db, "B1002", shown_sha256=hashlib.sha256(b"older words").hexdigest(), language="zh",
                     channel="webchat", conversation_id="c2", now=NOW)
    assert not consent.has_consent(db, "B1002")
    accept(db, store, SEALER, hardship(files.plain_pdf()), RULES, NOW)
    consent.withdraw(db, "B1001", language="zh", channel="webchat", conversation_id="c1",
                     now=NOW + dt.timedelta(minutes=5))
    with pytest.raises(NoConsent):
        accept(db, store, SEALER, hardship(files.plain_pdf()), RULES, NOW + dt.timedelta(minutes=6))
    assert len(stored_objects(store)) == 1  # the one sent under consent stays until deleted or purged
    with db.session() as session:
        decisions = session.execute(select(DocumentConsent.decision).order_by(DocumentConsent.id)).scalars().all()
    assert decisions == [ConsentDecision.GIVEN, ConsentDecision.WITHDRAWN]  # both kept: append-only
    assert actions(db) == ["document_consent", "attach_document", "document_consent"]


def test_a_photo_with_gps_is_stored_cleaned_and_sealed_under_a_random_key(db, store):
    agree(db)
    document = accept(db, store, SEALER, hardship(files.jpeg_with_gps()), RULES, NOW)
    assert (document.kind, document.received_kind, document.purpose) == ("jpeg", "jpeg", "hardship")
    [path] = stored_objects(store)
    sealed = path.read_bytes()
    assert not sealed.startswith(b"\xff\xd8") and b"JFIF" not in sealed  # encrypted at rest
    with db.session() as session:
        row = session.execute(select(Document)).scalar_one()
    assert path.name == row.object_key and row.object_key != row.public_id
    assert "B1001" not in path.name and "FQ2026" not in str(path)
    shown, content = open_for_staff(db, store, SEALER, document.public_id, "li", NOW)
    assert hashlib.sha256(content).hexdigest() == row.sha256 and shown.media_type == "image/jpeg"
    image = Image.open(io.BytesIO(content))
    assert not image.getexif().get_ifd(GPS_IFD) and dict(image.getexif()) == {}
    assert received_text(document, "C:\\fakepath\\诊断证明.jpg") == \
        "已收到您的照片「诊断证明.jpg」,已附在困难申请中。照片的拍摄位置、设备等信息已去除。"


def test_every_refusal_leaves_nothing_stored(db, store):
    agree(db)
    cases = {"executable": files.windows_program(), "pdf_script": files.pdf_with_javascript(),
             "pdf_encrypted": files.encrypted_pdf(), "too_large": files.plain_pdf() + b"\0" * RULES.max_bytes}
    for reason, data in cases.items():
        with pytest.raises(Refused) as refused:
            accept(db, store, SEALER, hardship(data, "x.jpg"), RULES, NOW)
        assert refused.value.reason == reason
    assert stored_objects(store) == []
    assert actions(db) == ["document_consent"]


def test_the_count_per_request_comes_from_the_policy(db, store):
    agree(db)
    for n in range(RULES.max_per_request):
        accept(db, store, SEALER, hardship(files.plain_pdf(), f"{n}.pdf"), RULES, NOW)
    with pytest.raises(Refused, match="too_many"):
        accept(db, store, SEALER, hardship(files.plain_pdf()), RULES, NOW)
    # another request, or one still being filed in another conversation, has its own count
    accept(db, store, SEALER, hardship(files.plain_pdf(), reference="YQ20261206-0002"), RULES, NOW)
    accept(db, store, SEALER, hardship(files.plain_pdf(), reference=None, conversation="c9"), RULES, NOW)
    assert len(stored_objects(store)) == RULES.max_per_request + 2


def test_uploads_at_the_same_instant_never_exceed_the_count(db, store, monkeypatch):
    """Eight uploads race for the last place: each passes the first count before any is written (the storage write
    between them is held until all have counted), and exactly one is kept."""
    agree(db)
    for n in range(RULES.max_per_request - 1):
        accept(db, store, SEALER, hardship(files.plain_pdf(), f"{n}.pdf"), RULES, NOW)
    racers = 8
    counted = threading.Barrier(racers, timeout=30)
    put = store.put

    def put_after_all_counted(key, data):
        counted.wait()
        put(key, data)

    monkeypatch.setattr(store, "put", put_after_all_counted)
    outcomes: list[str] = []

    def upload(n: int) -> None:
        try:
            accept(db, store, SEALER, hardship(files.plain_pdf(), f"race{n}.pdf"), RULES, NOW)
            outcomes.append("kept")
        except Refused as refused:
            outcomes.append(refused.reason)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["kept"] + ["too_many"] * (racers - 1)
    with db.session() as session:
        assert len(session.execute(select(Document.id)).all()) == RULES.max_per_request
    assert len(stored_objects(store)) == RULES.max_per_request  # a refused racer's sealed file is deleted


def test_staff_see_the_documents_of_a_case_and_every_view_is_audited(db, store):
    agree(db)
    photo = accept(db, store, SEALER, hardship(files.heic_with_gps(), "IMG_0001.HEIC"), RULES, NOW)
    sent = files.plain_pdf(pages=2)
    pdf = accept(db, store, SEALER, hardship(sent, "病历.pdf", reference=None), RULES, NOW)
    other = accept(db, store, SEALER, hardship(files.plain_pdf(), conversation="c2", reference="JM1"), RULES, NOW)
    assert (photo.kind, photo.received_kind, photo.media_type) == ("jpeg", "heic", "image/jpeg")
    listed = for_conversations(db, ["c1"])
    assert [d.public_id for d in listed] == [photo.public_id, pdf.public_id]
    assert [d.public_id for d in for_conversations(db, [], ["JM1"])] == [other.public_id]
    _, content = open_for_staff(db, store, SEALER, pdf.public_id, "wang", NOW)
    assert content == sent  # a PDF that passed the checks is kept exactly as sent
    open_for_staff(db, store, SEALER, photo.public_id, "wang", NOW)
    with db.session() as session:
        views = session.execute(select(AuditEntry).where(AuditEntry.action == AuditAction.VIEW_DOCUMENT)
                                .order_by(AuditEntry.id)).scalars().all()
    assert [(v.staff, v.conversation_id) for v in views] == [("wang", "c1"), ("wang", "c1")]
    assert views[1].target == "FQ20261206-0001" and views[0].target is None
    with pytest.raises(Gone):
        open_for_staff(db, store, SEALER, "no-such-document", "wang", NOW)


def test_the_purge_deletes_files_past_retention_keeps_the_records_and_is_audited(db, store):
    agree(db)
    rules = dataclasses.replace(RULES, retention_days=30)
    old = accept(db, store, SEALER, hardship(files.plain_pdf()), rules, NOW - dt.timedelta(days=31))
    young = accept(db, store, SEALER, hardship(files.plain_pdf()), rules, NOW - dt.timedelta(days=29))
    assert purge(db, store, rules, NOW, "cli:test", dry_run=True).count == 1
    assert len(stored_objects(store)) == 2 and AuditAction.PURGE_DOCUMENTS not in actions(db)
    done = purge(db, store, rules, NOW, "cli:test")
    assert done.count == 1 and len(stored_objects(store)) == 1
    with pytest.raises(Gone):
        open_for_staff(db, store, SEALER, old.public_id, "li", NOW)
    open_for_staff(db, store, SEALER, young.public_id, "li", NOW)
    assert [d.purged for d in for_conversations(db, ["c1"])] == [True, False]
    assert purge(db, store, rules, NOW, "cli:test").count == 0
    with db.session() as session:
        runs = session.execute(select(AuditEntry).where(AuditEntry.action == AuditAction.PURGE_DOCUMENTS)
                               ).scalars().all()
    assert [run.staff for run in runs] == ["cli:test", "cli:test"]
    assert runs[0].detail.startswith("1 documents received before 2026-11-06 10:00 UTC (30 days)")


def test_kuanxin_documents_purge_on_the_command_line(db, tmp_path, monkeypatch, capsys):
    from kuanxin.ops import cli
    from kuanxin.store.db import database
    monkeypatch.setenv("KUANXIN_DATABASE_URL", db.url)
    monkeypatch.setenv("KUANXIN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("KUANXIN_DOCUMENT_KEY", "command line test")
    monkeypatch.delenv("KUANXIN_DOCUMENT_STORE", raising=False)
    database.cache_clear()
    try:
        store = LocalFolder(tmp_path / "documents")
        agree(db)
        accept(db, store, Sealer.configured(), hardship(files.plain_pdf()), RULES, NOW - dt.timedelta(days=400))
        assert cli.main(["documents", "purge", "--dry-run"]) == 0
        assert "would delete the files of 1 documents" in capsys.readouterr().out
        assert len(stored_objects(store)) == 1
        assert cli.main(["documents", "purge", "--by", "ops:zhao"]) == 0
        assert "deleted the files of 1 documents" in capsys.readouterr().out
        assert stored_objects(store) == [] and actions(db)[-1] == "purge_documents"
    finally:
        database.cache_clear()


def test_a_deletion_request_deletes_the_borrowers_files_and_keeps_what_was_received(db, store):
    from kuanxin.console import privacy
    from kuanxin.store.demo import demo_document
    from kuanxin.store.importer import load_document
    load_document(db, demo_document())
    agree(db)
    accept(db, store, SEALER, hardship(files.plain_pdf()), RULES, NOW)
    accept(db, store, SEALER, hardship(files.jpeg_with_gps()), RULES, NOW)
    assert len(stored_objects(store)) == 2
    done = privacy.delete_borrower(db, None, "B1001", "cli:test", NOW, storage=store)
    assert done.documents == 2 and stored_objects(store) == []
    assert [d.purged for d in for_conversations(db, ["c1"])] == [True, True]
    with db.session() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == AuditAction.PRIVACY_DELETE)).scalar_one()
    assert entry.detail.endswith("2 attached documents deleted")
    assert privacy.delete_borrower(db, None, "B1001", "cli:test", NOW, storage=store).documents == 0


def test_a_document_sent_while_a_request_is_being_filed_supports_that_request(db):
    for form, purpose in (("deferral_form", DocumentPurpose.HARDSHIP), ("installment_form", DocumentPurpose.HARDSHIP),
                          ("waiver_form", DocumentPurpose.WAIVER)):
        assert target_for(db, "B-none", "conversation-1", form) == Target(purpose, None)
    assert target_for(db, "B-none", "conversation-1", None) is None  # nothing open, nothing being filed
