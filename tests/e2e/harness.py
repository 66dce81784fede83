"""Real servers for whole conversations: the action server, Rasa and the web app on free ports, over HTTP.

The account database is a fresh SQLite file loaded with the shipped demo accounts, and every
process runs with KUANXIN_TODAY pinned, so amounts and dates in replies are exact.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import requests

from kuanxin.serve import Servers, free_port
from kuanxin.settings import PROJECT_ROOT

TODAY = "2026-11-22"
MODEL = PROJECT_ROOT / "models" / "kuanxin.tar.gz"
TOKEN = "e2e-" + uuid.uuid4().hex
WEBCHAT_SECRET = "e2e-webchat-" + uuid.uuid4().hex


def start_servers(workdir: Path, database_url: str) -> Servers:
    """Every server on free ports, on this database, with today pinned; logs kept beside the database."""
    env = dict(os.environ, KUANXIN_DATABASE_URL=database_url, KUANXIN_TODAY=TODAY, TF_CPP_MIN_LOG_LEVEL="3",
               KUANXIN_WEBCHAT_SECRET=WEBCHAT_SECRET, KUANXIN_DEMO_PAGES="1")
    servers = Servers(free_port(), free_port(), TOKEN, MODEL, env, web_port=free_port())
    logs = [open(workdir / f"{name}.log", "w") for name in ("actions", "rasa", "web")]
    try:
        servers.start(logs)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{(workdir / 'rasa.log').read_text()[-3000:]}") from None
    return servers


class Borrower:
    """One simulated borrower talking over the REST channel."""

    def __init__(self, servers: Servers):
        self.servers = servers
        self.sender = "e2e-" + uuid.uuid4().hex[:12]
        self.replies: list[dict] = []

    def say(self, text: str) -> str:
        response = requests.post(f"{self.servers.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": self.sender, "message": text}, timeout=60)
        assert response.status_code == 200, response.text
        self.replies = response.json()
        return "\n".join(m.get("text", "") for m in self.replies)

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
