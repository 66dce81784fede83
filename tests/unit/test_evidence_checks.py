"""Documents are judged by their content: the type by magic bytes, images re-encoded without any metadata, PDFs with
scripts, launch actions, embedded files or encryption refused, limits from policy.yml. Real files, made here."""
from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from kuanxin.core.policy import DocumentPolicy, PolicyError, parse_documents
from kuanxin.core.vocab import DocumentKind
from kuanxin.evidence.cleaning import Refused, check_pdf, clean
from kuanxin.evidence.documents import Upload, check, refusal_text
from kuanxin.evidence.sniff import sniff
from tests.unit import evidence_files as files
from tests.unit.evidence_files import GPS_IFD, MAKE

RULES = DocumentPolicy()


def upload(data: bytes, name: str = "证明.jpg") -> Upload:
    return Upload("B1001", "c1", "webchat", "hardship", None, name, data)


def refused_reason(data: bytes, rules: DocumentPolicy = RULES, already: int = 0) -> str:
    with pytest.raises(Refused) as refused:
        check(upload(data), rules, already)
    return refused.value.reason


def test_the_type_comes_from_the_content_not_the_name():
    assert sniff(files.jpeg_with_gps()).kind == DocumentKind.JPEG
    assert sniff(files.png_with_text()).kind == DocumentKind.PNG
    assert sniff(files.plain_pdf()).kind == DocumentKind.PDF
    assert sniff(files.heic_with_gps()).kind == DocumentKind.HEIC
    program = sniff(files.windows_program())
    assert program.kind is None and program.executable
    assert sniff(b"GIF89a" + b"\x00" * 20) == sniff(b"hello") and not sniff(b"hello").executable


def test_a_program_renamed_as_a_photo_is_refused_as_a_program():
    with pytest.raises(Refused) as refused:
        check(upload(files.windows_program(), "诊断证明.jpg"), RULES, 0)
    assert refused.value.reason == "executable"
    assert refusal_text(refused.value, "C:\\fakepath\\诊断证明.jpg", RULES) == \
        "「诊断证明.jpg」是程序文件,不是图片或PDF,为了安全没有保存。"


def test_a_jpeg_with_gps_is_stored_without_any_metadata_and_upright():
    original = files.jpeg_with_gps((640, 480))
    before = Image.open(io.BytesIO(original)).getexif()
    assert before.get_ifd(GPS_IFD) and before[MAKE] == "Huawei"  # the test file really carries them
    cleaned = clean(DocumentKind.JPEG, original, RULES.max_pixels)
    assert cleaned.kind == DocumentKind.JPEG and cleaned.media_type == "image/jpeg"
    after = Image.open(io.BytesIO(cleaned.data))
    assert dict(after.getexif()) == {} and not after.getexif().get_ifd(GPS_IFD)
    assert b"Exif" not in cleaned.data and b"Huawei" not in cleaned.data and b"P60" not in cleaned.data
    assert after.size == (480, 640)  # orientation 6 applied to the pixels, since the tag that said so is gone
    assert "exif" not in after.info and "icc_profile" not in after.info


def test_a_png_keeps_its_kind_and_loses_its_text_chunks_and_exif():
    cleaned = clean(DocumentKind.PNG, files.png_with_text(), RULES.max_pixels)
    assert cleaned.kind == DocumentKind.PNG
    assert b"GPS" not in cleaned.data and "张伟".encode() not in cleaned.data
    after = Image.open(io.BytesIO(cleaned.data))
    assert not getattr(after, "text", {}) and dict(after.getexif()) == {}


def test_a_heic_photo_from_a_phone_becomes_a_jpeg_without_its_metadata():
    original = files.heic_with_gps()
    cleaned = check(upload(original, "IMG_0001.HEIC"), RULES, 0)
    assert cleaned.kind == DocumentKind.JPEG and cleaned.data.startswith(b"\xff\xd8\xff")
    after = Image.open(io.BytesIO(cleaned.data))
    assert dict(after.getexif()) == {} and b"Huawei" not in cleaned.data


def test_oversized_empty_and_one_too_many_are_refused_with_the_policys_numbers():
    small = dataclasses.replace(RULES, max_bytes=20_000, max_per_request=2)
    with pytest.raises(Refused) as refused:
        check(upload(files.jpeg_with_gps()), small, 0)
    assert refused.value.reason == "too_large"
    assert refusal_text(refused.value, "a.jpg", small).startswith("「a.jpg」超过20KB,没有保存")
    huge = files.jpeg_with_gps() + b"\x00" * RULES.max_bytes  # over the policy's 10 MB by a photo's size
    with pytest.raises(Refused) as refused:
        check(upload(huge), RULES, 0)
    assert refusal_text(refused.value, "a.jpg", RULES) == "「a.jpg」超过10MB,没有保存。请压缩或拍得小一些再试。"
    assert refused_reason(b"") == "empty"
    assert refused_reason(files.plain_pdf(), small, already=2) == "too_many"
    assert check(upload(files.plain_pdf()), small, already=1).kind == DocumentKind.PDF


def test_a_type_the_policy_does_not_accept_is_refused_by_name(policy):
    no_heic = dataclasses.replace(RULES, kinds=("jpeg", "png", "pdf"))
    with pytest.raises(Refused) as refused:
        check(upload(files.heic_with_gps()), no_heic, 0)
    assert refused.value.reason == "kind_not_allowed"
    assert refusal_text(refused.value, "x.heic", no_heic) == (
        f"{policy.lender.name}目前不接收HEIC照片格式的文件,「x.heic」没有保存。可以接收:JPG图片、PNG图片、PDF。")
    assert refused_reason(b"GIF89a" + b"\x00" * 64) == "unknown_type"


def test_an_image_too_large_in_pixels_is_refused_before_it_is_decoded():
    tight = dataclasses.replace(RULES, max_pixels=100_000)
    assert refused_reason(files.jpeg_with_gps((640, 480)), tight) == "image_too_big"


def test_a_damaged_image_or_pdf_is_refused():
    assert refused_reason(files.jpeg_with_gps()[:300]) == "damaged"
    assert refused_reason(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF") == "damaged"


@pytest.mark.parametrize("make", [files.pdf_with_javascript, files.pdf_with_script_in_a_link,
                                  files.pdf_with_launch_on_open, files.pdf_with_attachment])
def test_pdfs_that_run_something_or_carry_files_are_refused(make):
    assert refused_reason(make()) == "pdf_script"


@pytest.mark.parametrize("catalogue", ["/OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>",  # escaped name
                                       "/OpenAction << /S /L#61unch /F (cmd.exe) >>",
                                       "/AA << /WC << /S /JavaScript /JS (x) >> >>",
                                       "/Names << /EmbeddedFiles << /Names [] >> >>"])
def test_hand_written_pdfs_with_active_content_are_refused(catalogue):
    with pytest.raises(Refused, match="pdf_script"):
        check_pdf(files.handwritten_pdf(catalogue))
    check_pdf(files.handwritten_pdf())  # the same file without it passes


def test_an_encrypted_pdf_is_refused_and_a_plain_one_is_kept_as_sent():
    assert refused_reason(files.encrypted_pdf()) == "pdf_encrypted"
    plain = files.plain_pdf(pages=2)
    assert check(upload(plain, "病历.pdf"), RULES, 0).data == plain


def test_each_refusal_has_its_sentence_in_both_languages():
    for reason, values in {"too_large": {"limit": "10"}, "too_many": {"limit": 10}, "empty": {}, "unknown_type": {},
                           "executable": {}, "kind_not_allowed": {"kind": "PDF"}, "damaged": {},
                           "image_too_big": {}, "pdf_script": {}, "pdf_encrypted": {}}.items():
        for language in ("zh", "en"):
            sentence = refusal_text(Refused(reason, **values), "收据.pdf", RULES, language)
            assert "收据.pdf" in sentence and "{" not in sentence


def test_the_documents_section_of_the_policy_is_checked(policy):
    assert policy.documents.max_bytes == 10 * 1024 * 1024 and policy.documents.kinds == ("jpeg", "png", "pdf", "heic")
    assert parse_documents(None) == DocumentPolicy()
    for raw, message in [({"max_bytes": 0}, "policy.documents.max_bytes: give a whole number"),
                         ({"kinds": ["exe"]}, "policy.documents.kinds: give a list of different types"),
                         ({"kinds": []}, "policy.documents.kinds"),
                         ({"retention_days": "forever"}, "policy.documents.retention_days"),
                         ({"max_files": 3}, "policy.documents: unknown setting max_files")]:
        with pytest.raises(PolicyError, match=message):
            parse_documents(raw)
