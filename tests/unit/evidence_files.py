"""Real files for the document tests, made here: photos with GPS and device EXIF, PDFs with scripts, launch actions,
embedded files or encryption, a program renamed as a picture."""
from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

GPS_IFD, MAKE, MODEL, DATETIME_ORIGINAL = 0x8825, 0x010F, 0x0110, 0x9003


def photo(size=(640, 480), color=(180, 200, 220)) -> Image.Image:
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 16):  # some detail, so a re-encode is a real picture
        for y in range(0, size[1], 16):
            image.putpixel((x, y), (x % 255, y % 255, 40))
    return image


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE], exif[MODEL] = "Huawei", "P60 Pro"
    exif[0x0112] = 6  # orientation: the camera was turned; the re-encode turns the pixels instead
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (39.0, 54.0, 15.5)  # latitude of a borrower's home
    gps[3], gps[4] = "E", (116.0, 23.0, 29.0)
    return exif


def jpeg_with_gps(size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    photo(size).save(buffer, format="JPEG", exif=gps_exif().tobytes(), quality=92)
    return buffer.getvalue()


def png_with_text(size=(320, 200)) -> bytes:
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Comment", "GPS 39.9042 116.4074 张伟家")
    buffer = io.BytesIO()
    photo(size).save(buffer, format="PNG", pnginfo=info, exif=gps_exif().tobytes())
    return buffer.getvalue()


def heic_with_gps(size=(320, 240)) -> bytes:
    from pillow_heif import register_heif_opener
    register_heif_opener()
    buffer = io.BytesIO()
    photo(size).save(buffer, format="HEIF", exif=gps_exif().tobytes())
    return buffer.getvalue()


def windows_program() -> bytes:
    """The start of a Windows executable (DOS stub and PE header), as a borrower's 'certificate.jpg'."""
    stub = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x80\x00\x00\x00")
    stub += b"\x00" * (0x80 - len(stub)) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200
    return bytes(stub)


def _pdf(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def plain_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": "诊断证明"})
    return _pdf(writer)


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    from pypdf.actions import JavaScript
    writer.add_open_action(JavaScript("app.alert('hello');"))  # a document-level script run on opening
    return _pdf(writer)


def pdf_with_script_in_a_link() -> bytes:
    """JavaScript only in a link annotation's action, nowhere in the catalogue."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("this.exportDataObject();")})
    link = DictionaryObject({NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
                             NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(50),
                                                               NumberObject(50)]),
                             NameObject("/A"): writer._add_object(action)})
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    return _pdf(writer)


def pdf_with_launch_on_open() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    launch = DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                               NameObject("/F"): TextStringObject("cmd.exe")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(launch)
    return _pdf(writer)


def pdf_with_attachment() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("invoice.exe", b"MZ\x90\x00")
    return _pdf(writer)


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password="1234", owner_password="owner", algorithm="AES-128")
    return _pdf(writer)


def handwritten_pdf(catalogue_extra: str = "") -> bytes:
    """A PDF written by hand, with correct offsets: the catalogue may carry anything (escaped names included)."""
    objects = [f"<< /Type /Catalog /Pages 2 0 R {catalogue_extra} >>",
               "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
