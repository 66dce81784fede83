"""Real servers for whole conversations: Rasa (with its actions, or an action server), the web app on free ports.

The account database is a fresh SQLite file loaded with the shipped demo accounts, and every
process runs with KUANXIN_TODAY pinned, so amounts and dates in replies are exact.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from pathlib import Path

import requests

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import Servers, free_port
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from testkit.http import QuietHandler

TODAY = "2026-11-22"
# KUANXIN_TEST_MODEL: a model trained elsewhere (e.g. while others change the training data)
MODEL = Path(os.environ.get("KUANXIN_TEST_MODEL") or PROJECT_ROOT / "models" / "kuanxin.tar.gz")
TOKEN = "e2e-" + uuid.uuid4().hex
WEBCHAT_SECRET = "e2e-webchat-" + uuid.uuid4().hex
LENDER_API_SECRET = "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()
DOCUMENT_KEY = "e2e-documents-" + uuid.uuid4().hex  # borrowers' documents, sealed at rest
LENDER_WEBHOOK_SECRET = "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


def run_async(coroutine):
    """Runs a coroutine to the end from a test, even while another event loop runs in this thread
    (the browser tests' Playwright keeps one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def start_servers(workdir: Path, database_url: str, extra_env: dict[str, str] | None = None,
                  action_proxy: ActionProxy | None = None) -> Servers:
    """Every server on free ports, on this database, with today pinned; logs kept beside the database.

    The actions run in Rasa's process (KUANXIN_ACTIONS' default); with an action proxy, on an action server that
    Rasa calls through the proxy (so a test can slow actions down).
    """
    env = dict(os.environ, KUANXIN_DATABASE_URL=database_url, KUANXIN_TODAY=TODAY, TF_CPP_MIN_LOG_LEVEL="3",
               KUANXIN_WEBCHAT_SECRET=WEBCHAT_SECRET, KUANXIN_DEMO_PAGES="1",
               KUANXIN_LENDER_API_SECRET=LENDER_API_SECRET, KUANXIN_DOCUMENT_KEY=DOCUMENT_KEY, **(extra_env or {}))
    action_port = action_proxy.target_port if action_proxy else free_port()
    servers = Servers(free_port(), action_port, TOKEN, MODEL, env, web_port=free_port(),
                      action_endpoint=f"{action_proxy.url}/webhook" if action_proxy else None)
    try:
        servers.start(servers.logs_in(workdir))  # events too, with a lender webhook
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{(workdir / 'rasa.log').read_text()[-3000:]}") from None
    return servers


def demo_servers(workdir: Path, extra_env: dict[str, str] | None = None) -> Servers:
    """Servers of their own on a fresh SQLite account database holding the demo book (`.database`)."""
    url = f"sqlite:///{workdir / 'accounts.db'}"
    database = Database(url)
    database.create_schema()
    load_document(database, demo_document())
    running = start_servers(workdir, url, extra_env)
    running.database = database  # type: ignore[attr-defined]
    return running


class ActionProxy:
    """Forwards Rasa's calls to the action server, holding chosen actions back for a while (slow-action tests)."""

    def __init__(self) -> None:
        self.target_port = free_port()
        self.delays: dict[str, float] = {}
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(proxy.delays.get(json.loads(body or b"{}").get("next_action"), 0))
                answer = requests.post(f"http://127.0.0.1:{proxy.target_port}{self.path}", data=body,
                                       headers={"Content-Type": "application/json"}, timeout=120)
                self.answer(answer.status_code, answer.content)

            def do_GET(self):  # noqa: N802 - Rasa's readiness check asks the action server's /health through here
                answer = requests.get(f"http://127.0.0.1:{proxy.target_port}{self.path}", timeout=30)
                self.answer(answer.status_code, answer.content, content_type=None)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Borrower:
    """One simulated borrower talking over the REST channel."""

    def __init__(self, servers: Servers):
        self.servers = servers
        self.sender = "e2e-" + uuid.uuid4().hex[:12]
        self.replies: list[dict] = []

    def say(self, text: str, message_id: str | None = None) -> str:
        response = self.send(text, message_id)
        assert response.status_code == 200, response.text
        self.replies = response.json()
        return "\n".join(m.get("text", "") for m in self.replies)

    def send(self, text: str, message_id: str | None = None) -> requests.Response:
        """One REST message, answer as it came (a test of failures reads the status itself)."""
        body = {"sender": self.sender, "message": text, **({"message_id": message_id} if message_id else {})}
        # the sender in the query too: a load balancer hashes on it (the REST channel reads the body)
        return requests.post(f"{self.servers.rasa_url}/webhooks/rest/webhook", params={"sender": self.sender},
                             json=body, timeout=60)

    def buttons(self) -> list[str]:
        return [b["title"] for m in self.replies for b in m.get("buttons", [])]

    def verify(self, phone: str, id_last4: str) -> str:
        self.say("我要查一下欠款")
        return self.say(f"{phone} {id_last4}")

    def tracker(self) -> dict:
        response = requests.get(f"{self.servers.rasa_url}/conversations/{self.sender}/tracker",
                                params={"token": TOKEN}, timeout=30)
        response.raise_for_status()
        return response.json()
