"""The widget's document endpoints over HTTP against the real web app: an upload over the policy's size is refused
from its Content-Length before the body is sent, and a browser can reach only its own conversation."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import requests

from tests.unit import evidence_files as files


def test_an_oversized_upload_is_refused_before_its_body_is_read(servers):
    address = urlsplit(servers.web_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("POST", "/documents/upload?lang=zh&name=%E5%A4%A7.jpg")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(20 * 1024 * 1024))
    connection.endheaders()  # not one byte of the 20 MB is sent: the answer comes anyway
    answer = connection.getresponse()
    body = json.loads(answer.read())
    assert answer.status == 413 and body["reason"] == "too_large"
    assert body["text"] == "「大.jpg」超过10MB,没有保存。请压缩或拍得小一些再试。"
    connection.close()


def test_a_browser_without_its_conversations_credential_gets_nothing(servers, db):
    forged = {"resume": "someone-elses-session.0123456789abcdef0123456789abcdef", "lang": "zh"}
    for path in ("status", "consent"):
        answer = requests.post(f"{servers.web_url}/documents/{path}", files={k: (None, v) for k, v in forged.items()},
                               timeout=10)
        assert answer.status_code == 403 and answer.json()["reason"] == "not_verified"
    upload = requests.post(f"{servers.web_url}/documents/upload?lang=zh", data=forged,
                           files={"file": ("a.pdf", files.plain_pdf(), "application/pdf")}, timeout=10)
    assert upload.status_code == 403 and "核实身份" in upload.json()["text"]
    assert upload.headers["cache-control"] == "no-store"
