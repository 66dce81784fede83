"""Documents in the widget, in a real Chromium against the real servers: a verified borrower who declines the consent
has nothing stored; after consenting, a photo of a certificate (with GPS in its EXIF) and a PDF are attached to their
hardship request (file picker and drag and drop), the conversation is told, and refusals are explained; staff open
both in the console (the image inline, the PDF in the browser's viewer), each view audited."""
from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from kuanxin.store.models import AuditEntry, Document, DocumentConsent, ServiceRequest
from tests.e2e.browser.chat_page import ChatPage
from tests.e2e.console_client import PASSWORD, new_staff
from tests.unit import evidence_files as files
from tests.unit.evidence_files import GPS_IFD

PHOTO, PDF = files.jpeg_with_gps((800, 600)), files.plain_pdf(pages=2)
JPEG = "image/jpeg"


def rows(db, model):
    with db.session() as session:
        return list(session.execute(select(model)).scalars())


def choose(chat: ChatPage, *chosen: tuple[str, str, bytes]) -> None:
    """The borrower picks files in the widget's file picker (what 上传 opens)."""
    chat.page.locator("#kuanxin-chat input.file").set_input_files(
        [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in chosen])


def drop(chat: ChatPage, name: str, mime: str, data: bytes) -> None:
    """The borrower drags a file from the desktop onto the chat window."""
    chat.page.evaluate("""([name, mime, bytes]) => {
        const root = document.querySelector('#kuanxin-chat').shadowRoot;
        const panel = root.querySelector('.panel');
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
        panel.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        panel.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", [name, mime, list(data)])


def notices(chat: ChatPage):
    return chat.page.locator("#kuanxin-chat .notice")


def test_a_borrower_consents_attaches_a_photo_and_a_pdf_and_staff_open_both(servers, db, new_context, screenshot):
    chat = ChatPage(new_context().new_page(), f"{servers.web_url}/").open()
    choose(chat, ("证明.jpg", JPEG, PHOTO))  # before verifying: nothing asked, nothing stored
    expect(notices(chat).last).to_contain_text("上传材料前需要先核实身份")
    chat.send("13812345678 123X 我逾期了多少钱")
    chat.send("我想延期三个月,因为我生病住院了")
    chat.page.locator("#kuanxin-chat .quick-replies button", has_text="确认提交").click()
    expect(chat.page.locator("#kuanxin-chat .log")).to_contain_text("YQ20261122-")  # (a rating question may follow)
    [request] = [r.reference for r in rows(db, ServiceRequest) if r.borrower_id == "B1001" and r.type == "deferral"]

    choose(chat, ("诊断证明.jpg", JPEG, PHOTO))
    consent = chat.page.locator("#kuanxin-chat .consent")
    expect(consent).to_contain_text("个人信息保护法")
    expect(consent).to_contain_text("保存多久:365天")
    screenshot(chat.page, "webchat-documents-consent")
    consent.get_by_role("button", name="暂不同意").click()
    expect(notices(chat).last).to_contain_text("没有您的授权,材料没有保存")
    assert rows(db, Document) == [] and rows(db, DocumentConsent) == []

    choose(chat, ("诊断证明.jpg", JPEG, PHOTO))
    chat.page.locator("#kuanxin-chat .consent").last.get_by_role("button", name="同意并上传").click()
    expect(chat.bot_messages().last).to_contain_text("已收到您的照片「诊断证明.jpg」,已附在困难申请中")
    drop(chat, "出院小结.pdf", "application/pdf", PDF)
    expect(chat.bot_messages().last).to_contain_text("已收到您的材料「出院小结.pdf」")
    [given] = rows(db, DocumentConsent)
    assert (given.decision, given.text_version, given.channel) == ("given", "documents.consent.v1", "webchat")
    stored = rows(db, Document)
    assert [(d.kind, d.purpose, d.reference) for d in stored] == [("jpeg", "hardship", request),
                                                                 ("pdf", "hardship", request)]

    choose(chat, ("营业执照.jpg", JPEG, files.windows_program()))
    expect(notices(chat).last).to_contain_text("「营业执照.jpg」是程序文件")
    choose(chat, ("回执.pdf", "application/pdf", files.pdf_with_javascript()))
    expect(notices(chat).last).to_contain_text("「回执.pdf」这个PDF含有脚本")
    choose(chat, ("大照片.jpg", JPEG, PHOTO + b"\0" * (10 * 1024 * 1024)))
    expect(notices(chat).last).to_contain_text("「大照片.jpg」超过10MB,没有保存")
    expect(chat.page.locator("#kuanxin-chat .message.user.refused")).to_have_count(3)
    assert len(rows(db, Document)) == 2  # none of the refused ones was stored
    screenshot(chat.page, "webchat-documents")

    chat.send("转人工")
    expect(chat.page.locator("#kuanxin-chat .log")).to_contain_text("RG20261122-")
    case = re.findall(r"RG\d{8}-\d+", chat.transcript())[-1]
    console = new_context().new_page()
    console.goto(f"{servers.web_url}/console/login")
    console.get_by_label("用户名").fill(new_staff(db, "agent", display_name="李娜"))
    console.get_by_label("密码").fill(PASSWORD)
    console.get_by_role("button", name="登录").click()
    console.get_by_role("link", name=case).click()
    documents = console.locator("#documents")
    image = documents.locator("img")
    expect(image).to_have_count(1)
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [600, 800]  # turned upright
    pdf_link = documents.get_by_role("link", name="打开PDF文件")
    with console.context.expect_page() as opened:  # the browser's own PDF viewer, in a new tab
        pdf_link.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    assert viewer.url.endswith(pdf_link.get_attribute("href"))
    screenshot(console, "console-documents")

    served = console.request.get(f"{servers.web_url}{pdf_link.get_attribute('href')}")
    assert served.headers["content-type"] == "application/pdf" and served.body() == PDF
    assert "no-store" in served.headers["cache-control"]
    photo = console.request.get(f"{servers.web_url}{image.get_attribute('src')}")
    seen = Image.open(io.BytesIO(photo.body()))
    assert not seen.getexif().get_ifd(GPS_IFD) and dict(seen.getexif()) == {} and b"Huawei" not in photo.body()
    anonymous = new_context().request.get(f"{servers.web_url}{image.get_attribute('src')}", max_redirects=0)
    assert anonymous.status == 303 and anonymous.headers["location"].endswith("/console/login")
    session = chat.session_id()
    views = [e for e in rows(db, AuditEntry) if e.action == "view_document" and e.conversation_id == session]
    assert len(views) >= 4 and {e.target for e in views} == {request}  # page, viewer tab, and both fetches
    console.reload()
    expect(console.locator("#audit")).to_contain_text("查看借款人材料")

    # the borrower asks the person to withdraw the consent: nothing new is kept, the consent is asked for again
    console.get_by_role("button", name="按借款人要求撤回材料授权").click()
    expect(console.locator("#document-consent")).to_contain_text("没有有效的材料授权")
    assert [(c.decision, c.channel) for c in rows(db, DocumentConsent)] == [("given", "webchat"),
                                                                          ("withdrawn", "staff")]
    choose(chat, ("补充.pdf", "application/pdf", PDF))
    expect(chat.page.locator("#kuanxin-chat .consent")).to_have_count(3)
    assert len(rows(db, Document)) == 2
