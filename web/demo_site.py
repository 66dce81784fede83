"""A demo lender site with the chat widget: an anonymous page and a signed-in borrower's page.

The signed-in page plays the lender's back end: it signs a short-lived token for a borrower of the
shipped demo data (never for any other id) and hands it to the widget. Turn the pages off in
production with KUANXIN_DEMO_PAGES=0; the widget script itself is always served.
"""
from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from kuanxin.core import clock, links, settings
from kuanxin.core.signin import sign_borrower_token
from kuanxin.store.demo import demo_document
from web.guard import scrub

WIDGET_DIST = settings.PROJECT_ROOT / "widget" / "dist"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.finalize = scrub
router = APIRouter()


@functools.cache
def demo_borrowers() -> dict[str, str]:
    """The demo borrowers' ids and names, read on the first sign-in (not when the app is imported)."""
    return {b["id"]: b["name"] for b in demo_document()["borrowers"]}


def demo_pages_on() -> bool:
    return bool(settings.current().value("KUANXIN_DEMO_PAGES"))


def chat_server_url(request: Request) -> str:
    """Where browsers reach Rasa's socket.io: KUANXIN_PUBLIC_CHAT_URL, else Rasa's port on this page's host."""
    configured = settings.current()
    if public := configured.given("KUANXIN_PUBLIC_CHAT_URL"):
        return public.rstrip("/")
    rasa = urlsplit(configured.value("KUANXIN_RASA_URL"))
    return f"{request.url.scheme}://{request.url.hostname}:{rasa.port or 5005}"


def demo_page(request: Request, template: str, **context) -> HTMLResponse:
    if not demo_pages_on():
        raise HTTPException(status_code=404)
    return templates.TemplateResponse(request, template, {"chat_server": chat_server_url(request), **context})


@router.get("/", response_class=HTMLResponse)
def lender_home(request: Request) -> HTMLResponse:
    return demo_page(request, "demo/home.html")


@router.get("/signed-in", response_class=HTMLResponse)
def signed_in_page(request: Request, borrower: str = "B1001") -> HTMLResponse:
    names = demo_borrowers()
    if borrower not in names:
        raise HTTPException(status_code=404)
    token = sign_borrower_token(borrower, settings.webchat_secret())
    return demo_page(request, "demo/signed_in.html", token=token, borrower_name=names[borrower])


@router.get("/widget/{name}")
def widget_file(name: str) -> FileResponse:
    if name not in ("kuanxin-chat.js", "kuanxin-chat.js.map"):
        raise HTTPException(status_code=404)
    path = WIDGET_DIST / name
    if not path.exists():
        raise HTTPException(status_code=503, detail="the widget is not built: run `make widget`")
    return FileResponse(path, media_type="text/javascript" if name.endswith(".js") else "application/json",
                        headers={"Cache-Control": "no-cache"})


@router.get("/demo/lender/pay", response_class=HTMLResponse)
def lender_payment_page(request: Request, loan: str = "", amount: str = "", expires: str = "",
                        signature: str = "") -> HTMLResponse:
    """The lender's own payment page as the pay-now link opens it (a demo: no money moves). It runs the check the
    lender's page runs, kuanxin.core.links.pay_link_valid: a link whose loan or amount was altered, or that has
    expired, is refused with 403 and nothing of it is shown."""
    if not demo_pages_on():
        raise HTTPException(status_code=404)
    if not links.pay_link_valid(settings.pay_link_secret(), loan, amount, expires, signature, clock.now()):
        return templates.TemplateResponse(request, "demo/pay_refused.html", {}, status_code=403)
    return templates.TemplateResponse(request, "demo/pay.html", {"loan": loan, "amount": amount})
