"""A staff member using the console over HTTP, as a browser would: cookies, CSRF tokens from the forms."""
from __future__ import annotations

import re
import uuid

import requests

from kuanxin.console.staff import StaffDirectory
from kuanxin.store.db import Database
from testkit.servers import TODAY

PASSWORD = "console-test-password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_staff(db: Database, role: str, display_name: str | None = None) -> str:
    """A staff member with a fresh name (staff outlive the per-test reload of the demo accounts)."""
    import datetime as dt
    username = f"{role[:3]}-{uuid.uuid4().hex[:8]}"
    StaffDirectory(db).add(username, PASSWORD, role, display_name, dt.datetime.fromisoformat(f"{TODAY}T09:00:00"))
    return username


class ConsoleClient:
    def __init__(self, web_url: str):
        self.web_url = web_url
        self.http = requests.Session()
        self.csrf: str | None = None
        self.page = ""

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(self.web_url + path, timeout=30, **kwargs)
        self._remember(response)
        return response

    def post(self, path: str, csrf: bool = True, **fields) -> requests.Response:
        data = {**fields, **({"csrf_token": self.csrf} if csrf and self.csrf else {})}
        response = self.http.post(self.web_url + path, data=data, timeout=30, allow_redirects=False)
        if response.is_redirect:
            response = self.get(response.headers["location"])
        self._remember(response)
        return response

    def log_in(self, username: str, password: str = PASSWORD) -> requests.Response:
        self.get("/console/login")
        return self.post("/console/login", username=username, password=password)

    def _remember(self, response: requests.Response) -> None:
        self.page = response.text
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
