"""The type of a file by its first bytes. Names and MIME types come from the client and prove nothing."""
from __future__ import annotations

from dataclasses import dataclass

from kuanxin.core.vocab import DocumentKind

# ISO base media files (HEIC/HEIF): a `ftyp` box first, whose brands name the image format
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"})
# programs and archives that must never pass as a picture, named apart so the borrower is told why
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!", b"\x00asm")
PDF_SEARCH_BYTES = 1024  # a PDF header may follow a little junk; readers look this far


@dataclass(frozen=True)
class Sniffed:
    kind: DocumentKind | None  # None: not a type we can check
    executable: bool = False


def sniff(data: bytes) -> Sniffed:
    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed(DocumentKind.JPEG)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(DocumentKind.PNG)
    if b"%PDF-" in data[:PDF_SEARCH_BYTES]:
        return Sniffed(DocumentKind.PDF)
    if _is_heif(data):
        return Sniffed(DocumentKind.HEIC)
    return Sniffed(None, executable=data.startswith(EXECUTABLE_MAGIC))


def _is_heif(data: bytes) -> bool:
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(data[:4], "big")
    brands = data[8:12], *(data[offset:offset + 4] for offset in range(16, min(box_size, len(data), 64), 4))
    return any(brand in HEIF_BRANDS for brand in brands)
