"""What a document becomes before it is stored: an image decoded and drawn again into a fresh file with no
metadata at all (EXIF with GPS position and device, XMP, comments), a PDF checked and kept as sent.

A refusal is a `Refused` with a reason code; the borrower's sentence for it is the catalogue's
`documents.refused.<reason>`.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from kuanxin.core.vocab import DocumentKind

JPEG_QUALITY = 90
# names that run something or carry other files inside a PDF: refused wherever they appear
PDF_ACTIVE_KEYS = frozenset({"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia",
                             "/XFA"})
PDF_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute"})  # an action's /S
PDF_MAX_OBJECTS = 200_000  # a walk longer than this is a hostile file, not a certificate


class Refused(Exception):
    """A document not stored; `reason` names the catalogue text documents.refused.<reason>."""

    def __init__(self, reason: str, **values: object):
        super().__init__(reason)
        self.reason, self.values = reason, values


@dataclass(frozen=True)
class Cleaned:
    kind: DocumentKind  # as stored: a HEIC photo becomes a JPEG
    data: bytes
    media_type: str


MEDIA_TYPES = {DocumentKind.JPEG: "image/jpeg", DocumentKind.PNG: "image/png", DocumentKind.PDF: "application/pdf"}


def clean(kind: DocumentKind, data: bytes, max_pixels: int) -> Cleaned:
    if kind == DocumentKind.PDF:
        check_pdf(data)
        return Cleaned(kind, data, MEDIA_TYPES[kind])
    return reencode_image(kind, data, max_pixels)


def reencode_image(kind: DocumentKind, data: bytes, max_pixels: int) -> Cleaned:
    """The pixels alone, turned upright as the camera meant them, in a new JPEG (a PNG stays PNG, for screenshots
    with text); nothing of the original file's metadata is copied."""
    if kind == DocumentKind.HEIC:
        _register_heif()
    image = _open_image(data, max_pixels)
    try:
        upright = ImageOps.exif_transpose(image)
        if kind == DocumentKind.PNG:
            out_kind, pixels = DocumentKind.PNG, _png_pixels(upright)
        else:
            out_kind, pixels = DocumentKind.JPEG, upright.convert("RGB")
        fresh = Image.new(pixels.mode, pixels.size)  # a new image: no info dict, no EXIF, no ICC profile carried
        fresh.paste(pixels)
        buffer = io.BytesIO()
        if out_kind == DocumentKind.PNG:
            fresh.save(buffer, format="PNG", optimize=True)
        else:
            fresh.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    except (OSError, ValueError, SyntaxError) as error:
        raise Refused("damaged") from error
    return Cleaned(out_kind, buffer.getvalue(), MEDIA_TYPES[out_kind])


def _open_image(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:  # checked from the header, before decoding the pixels
                raise Refused("image_too_big")
            image.load()
    except Refused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise Refused("image_too_big") from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise Refused("damaged") from error
    return image


def _png_pixels(image: Image.Image) -> Image.Image:
    return image.convert("RGBA") if image.mode in ("RGBA", "LA", "P", "PA") else image.convert("RGB")


def _register_heif() -> None:
    from pillow_heif import register_heif_opener  # pillow-heif: HEIC/HEIF photos from phones
    register_heif_opener()


def check_pdf(data: bytes) -> None:
    """Refuses a PDF that is encrypted, cannot be read, or holds JavaScript, launch actions or embedded files
    anywhere reachable from its trailer (pages, annotations, forms, names, open actions)."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refused("pdf_encrypted")
        if _has_active_content(reader.trailer):
            raise Refused("pdf_script")
        if len(reader.pages) == 0:
            raise Refused("damaged")
    except Refused:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise Refused("damaged") from error


def _has_active_content(root: object) -> bool:
    seen: set[tuple[int, int]] = set()
    stack = [root]
    walked = 0
    while stack:
        node = stack.pop()
        walked += 1
        if walked > PDF_MAX_OBJECTS:
            raise Refused("damaged")
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            node = node.get_object()
        if isinstance(node, DictionaryObject):  # streams are dictionaries too: their keys are checked
            if any(str(key) in PDF_ACTIVE_KEYS for key in node):
                return True
            action = node.get("/S")
            if isinstance(action, NameObject) and str(action) in PDF_ACTIVE_ACTIONS:
                return True
            stack.extend(value for key, value in node.items() if key != "/Parent")
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return False
