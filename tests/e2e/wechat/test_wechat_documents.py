"""Documents in WeChat, against the real servers and the WeChat double: a verified borrower's image and file messages
are fetched through the media API only after consent, checked like the widget's, attached to their hardship request
and told in the transcript; a program sent as a file, a PDF with JavaScript and an oversized photo are refused."""
from __future__ import annotations

import io
import time

from PIL import Image
from sqlalchemy import select

from kuanxin.core import clock
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.evidence.documents import open_for_staff
from kuanxin.evidence.sealing import Sealer
from kuanxin.evidence.storage import LocalFolder
from kuanxin.store.models import Document, DocumentConsent, ServiceRequest
from testkit.servers import DOCUMENT_KEY
from testkit.wechat import file_xml, image_xml
from tests.e2e.wechat.test_wechat_channel import msg_id, say
from tests.unit import evidence_files as files
from tests.unit.evidence_files import GPS_IFD


def told(platform, wechat_api, openid: str, xml: str, expected: str, timeout: float = 30) -> list[str]:
    """Pushes a message and waits for an answer containing `expected`; returns the texts that arrived for it."""
    before = len(wechat_api.texts(openid))
    assert [(d.status, d.body) for d in platform.push(xml)] == [(200, "success")]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = wechat_api.texts(openid)[before:]
        if any(expected in text for text in new):
            return new
        time.sleep(0.1)
    raise AssertionError(f"no answer with {expected!r}: {wechat_api.texts(openid)[before:]}")


def rows(db, model):
    with db.session() as session:
        return list(session.execute(select(model)).scalars())


def test_a_borrower_sends_a_certificate_photo_and_a_pdf_in_wechat(servers, platform, wechat_api, openid, db,
                                                                 tracker):
    photo = wechat_api.add_media(files.jpeg_with_gps((640, 480)), "image/jpeg")
    assert "身份核实" in told(platform, wechat_api, openid, image_xml(openid, photo, msg_id()), "先核实身份")[0]
    say(platform, wechat_api, openid, "我逾期了多少钱")
    say(platform, wechat_api, openid, "13700002222")
    say(platform, wechat_api, openid, "0019")
    say(platform, wechat_api, openid, "我想分期还")
    say(platform, wechat_api, openid, "6")
    assert "FQ20261122-" in say(platform, wechat_api, openid, "1")
    [request] = [r.reference for r in rows(db, ServiceRequest) if r.conversation_id == openid]

    asked = told(platform, wechat_api, openid, image_xml(openid, photo, msg_id()), "同意上传材料")
    assert any("个人信息保护法" in text for text in asked)
    assert wechat_api.media_requests == [] and rows(db, Document) == []  # without consent nothing is even fetched
    assert "已记录您的授权" in say(platform, wechat_api, openid, "同意上传材料")
    [given] = rows(db, DocumentConsent)
    assert (given.decision, given.channel, given.conversation_id) == ("given", "wechat", openid)

    told(platform, wechat_api, openid, image_xml(openid, photo, msg_id()), "已收到您的照片「照片」,已附在困难申请中")
    pdf = files.plain_pdf(pages=2)
    told(platform, wechat_api, openid, file_xml(openid, wechat_api.add_media(pdf, "application/pdf"), "收入证明.pdf",
                                                msg_id()), "已收到您的材料「收入证明.pdf」")
    program = wechat_api.add_media(files.windows_program(), "application/octet-stream")
    told(platform, wechat_api, openid, file_xml(openid, program, "证明.jpg", msg_id()), "「证明.jpg」是程序文件")
    script = wechat_api.add_media(files.pdf_with_javascript(), "application/pdf")
    told(platform, wechat_api, openid, file_xml(openid, script, "流水.pdf", msg_id()), "「流水.pdf」这个PDF含有脚本")
    huge = wechat_api.add_media(files.jpeg_with_gps() + b"\0" * (10 * 1024 * 1024), "image/jpeg")
    told(platform, wechat_api, openid, image_xml(openid, huge, msg_id()), "超过10MB,没有保存")

    stored = rows(db, Document)
    assert [(d.kind, d.purpose, d.reference, d.channel) for d in stored] == [
        ("jpeg", "hardship", request, "wechat"), ("pdf", "hardship", request, "wechat")]
    folder = LocalFolder(PROJECT_ROOT / "var" / "documents")  # the servers' KUANXIN_VAR_DIR is the default
    _, content = open_for_staff(db, folder, Sealer(DOCUMENT_KEY), stored[0].public_id, "li", clock.now())
    image = Image.open(io.BytesIO(content))
    assert not image.getexif().get_ifd(GPS_IFD) and dict(image.getexif()) == {}
    assert open_for_staff(db, folder, Sealer(DOCUMENT_KEY), stored[1].public_id, "li", clock.now())[1] == pdf
    bot_texts = [e.get("text") or "" for e in tracker.events(openid) if e["event"] == "bot"]
    assert any("已收到您的照片" in text for text in bot_texts)  # in the transcript staff read

