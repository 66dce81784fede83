"""A borrower's written agreement, as a page and as a PDF, through the signed link the assistant gave them.

GET /agreements/{number}?t=TOKEN and /agreements/{number}.pdf?t=TOKEN. The token (kuanxin.core.links) is made for
that agreement and its borrower and expires after the policy's `plans.agreement_link_days`; anything else (no token,
another agreement's, an expired or altered one, an agreement that does not exist) gets the same 404 page, so a link
tried by someone else shows nothing and tells nothing. The text is the agreement's recorded text, exactly as the
borrower accepted it; the PDF draws it with reportlab's built-in CID font STSong-Light (no font file needed; readers
supply the glyphs), so its text can be extracted and checked.
"""
from __future__ import annotations

import functools
import io
import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from kuanxin.core import clock, links, settings, texts
from kuanxin.core import policy as policies
from kuanxin.core.formats import LongDay
from kuanxin.lending import plans
from kuanxin.lending.agreement import AgreementDraft
from kuanxin.store.accounts import Accounts
from kuanxin.store.agreements import PlanBook
from kuanxin.store.models import Agreement
from web.guard import scrub

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.finalize = scrub
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
FONT = "STSong-Light"


@functools.lru_cache(maxsize=1)
def book() -> PlanBook:
    return PlanBook()


def _opened(number: str, token: str | None) -> Agreement | None:
    agreement = book().agreement(number)
    if agreement is None or not links.valid(settings.agreement_secret(), token, number, agreement.borrower_id,
                                            clock.now()):
        return None
    return agreement


def _not_found(language: str = texts.DEFAULT_LANGUAGE) -> HTMLResponse:
    message = texts.text("agreement.page.not_found", language)
    return HTMLResponse(f"<!doctype html><meta charset=\"utf-8\"><title>404</title><p>{message}</p>",
                        status_code=404, headers=NO_STORE)


def record_line(agreement: Agreement) -> str:
    language = agreement.language
    accepted = clock.beijing_time(agreement.accepted_at)
    check = json.loads(agreement.identity_check).get("method")
    check_words = texts.text("agreement.check.binding" if check == "binding" else "agreement.check.identity", language)
    return texts.text("agreement.page.record", language, number=agreement.number,
                      accepted=f"{LongDay(accepted.date()).show(language)} {accepted:%H:%M}", check=check_words,
                      channel=agreement.channel or "-", sha256=agreement.sha256)


@router.get("/agreements/draft", include_in_schema=False)
def draft_page(request: Request, t: str | None = None) -> Response:
    """An agreement offered and not yet accepted (the WeChat link): drawn again from what the sealed token names, and
    shown only while its text is still exactly the one offered (same SHA-256); otherwise nothing."""
    facts = links.unseal(settings.agreement_secret(), t, clock.now())
    draft = offered(facts) if facts else None
    if draft is None or facts is None or draft.sha256 != facts.get("h"):
        return _not_found()
    language = draft.language
    response = templates.TemplateResponse(request, "agreements/page.html", {
        "lang": "zh-CN" if language == "zh" else language,
        "title": texts.text("agreement.page.draft", language,
                            label=texts.text(f"request.label.{draft.kind}", language)),
        "lines": draft.text.split("\n"), "record": "", "superseded": "", "pdf": "", "pdf_label": ""})
    response.headers.update(NO_STORE)
    return response


def offered(facts: dict[str, str]) -> AgreementDraft | None:
    """The agreement the assistant would offer today for these facts (borrower, loan, kind, length, day)."""
    today, policy = clock.today(), policies.current()
    if facts.get("d") != today.isoformat() or not facts.get("n", "").isdigit():
        return None
    borrower = Accounts(book().db).borrower_profile(facts.get("b", ""))
    loan = plans.find_loan(borrower, facts.get("l")) if borrower else None
    if borrower is None or loan is None:
        return None
    length, language = int(facts["n"]), facts.get("g") or texts.DEFAULT_LANGUAGE
    if facts.get("k") == "installment":  # in place of a plan in force: the re-plan (kuanxin/lending/replan.py)
        in_force = book().in_force_on(loan.id, today, policy.plans.grace_days)
        quote = plans.quote_installment(borrower, loan, length, today, policy, in_force)
        return plans.installment_agreement(borrower, quote, length, today, policy, language) \
            if quote.decision.eligible else None
    quote = plans.quote_deferral(borrower, loan, length, "-", today, policy)  # the reason is not in the text
    return plans.deferral_agreement(borrower, quote, length, today, policy, language) \
        if quote.decision.eligible else None


@router.get("/agreements/{number}.pdf", include_in_schema=False)
def agreement_pdf(number: str, t: str | None = None) -> Response:
    agreement = _opened(number, t)
    if agreement is None:
        return _not_found()
    title = texts.text("agreement.page.title", agreement.language, number=agreement.number)
    return Response(pdf_bytes(title, agreement.text, record_line(agreement)), media_type="application/pdf",
                    headers={**NO_STORE, "Content-Disposition": f'inline; filename="{agreement.number}.pdf"'})


@router.get("/agreements/{number}", include_in_schema=False)
def agreement_page(request: Request, number: str, t: str | None = None) -> Response:
    agreement = _opened(number, t)
    if agreement is None:
        return _not_found()
    language = agreement.language
    newer = book().superseded_by(agreement.number)
    response = templates.TemplateResponse(request, "agreements/page.html", {
        "lang": "zh-CN" if language == "zh" else language,
        "title": texts.text("agreement.page.title", language, number=agreement.number),
        "lines": agreement.text.split("\n"), "record": record_line(agreement),
        "superseded": texts.text("agreement.page.superseded", language, number=newer) if newer else "",
        "pdf": f"/agreements/{agreement.number}.pdf?t={t}", "pdf_label": texts.text("agreement.page.pdf", language)})
    response.headers.update(NO_STORE)
    return response


def pdf_bytes(title: str, text: str, record: str) -> bytes:
    """The agreement on A4 pages: its title, its text line by line (wrapped to the page), and the record line."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    page.setTitle(title)
    width, height = A4
    margin, size, leading = 56, 11, 17
    y = height - margin

    def line(words: str, font_size: int = size) -> None:
        nonlocal y
        if y < margin:
            page.showPage()
            y = height - margin
        page.setFont(FONT, font_size)
        page.drawString(margin, y, words)
        y -= leading if font_size == size else leading + 8

    line(title, 15)
    for paragraph in [*text.split("\n"), "", *wrap(record, width - 2 * margin, size)]:
        for piece in wrap(paragraph, width - 2 * margin, size):
            line(piece)
    page.showPage()
    page.save()
    return buffer.getvalue()


def wrap(paragraph: str, room: float, size: int) -> list[str]:
    """A paragraph cut into lines that fit `room` points (Chinese has no spaces: cut at any character)."""
    from reportlab.pdfbase import pdfmetrics

    lines, current = [], ""
    for character in paragraph:
        if current and pdfmetrics.stringWidth(current + character, FONT, size) > room:
            lines.append(current)
            current = ""
        current += character
    return [*lines, current]
