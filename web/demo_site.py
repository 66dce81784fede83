"""A demo lender site with the chat widget: an anonymous page and a signed-in borrower's page.

The signed-in page plays the lender's back end: it signs a short-lived token for a borrower of the
shipped demo data (never for any other id) and hands it to the widget. Turn the pages off in
production with KUANXIN_DEMO_PAGES=0; the widget script itself is always served.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from kuanxin import settings
from kuanxin.demo import demo_document
from kuanxin.signin import sign_borrower_token
from web.guard import scrub

WIDGET_DIST = settings.PROJECT_ROOT / "widget" / "dist"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.finalize = scrub
router = APIRouter()
DEMO_BORROWERS = {b["id"]: b["name"] for b in demo_document()["borrowers"]}


def demo_pages_on() -> bool:
    return os.environ.get("KUANXIN_DEMO_PAGES", "1").strip().lower() not in ("0", "false", "no", "off")


def chat_server_url(request: Request) -> str:
    """Where browsers reach Rasa's socket.io: KUANXIN_PUBLIC_CHAT_URL, else Rasa's port on this page's host."""
    configured = os.environ.get("KUANXIN_PUBLIC_CHAT_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    rasa = urlsplit(os.environ.get("KUANXIN_RASA_URL", "http://127.0.0.1:5005"))
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
    if borrower not in DEMO_BORROWERS:
        raise HTTPException(status_code=404)
    token = sign_borrower_token(borrower, settings.webchat_secret())
    return demo_page(request, "demo/signed_in.html", token=token, borrower_name=DEMO_BORROWERS[borrower])


@router.get("/widget/{name}")
def widget_file(name: str) -> FileResponse:
    if name not in ("kuanxin-chat.js", "kuanxin-chat.js.map"):
        raise HTTPException(status_code=404)
    path = WIDGET_DIST / name
    if not path.exists():
        raise HTTPException(status_code=503, detail="the widget is not built: run `make widget`")
    return FileResponse(path, media_type="text/javascript" if name.endswith(".js") else "application/json",
                        headers={"Cache-Control": "no-cache"})
