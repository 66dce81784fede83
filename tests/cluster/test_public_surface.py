"""What the public port shows: the channels and the web app, never Rasa's HTTP API; and no secret in `ps`."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from kuanxin.ops.cluster import Cluster
from kuanxin.ops.serve import free_port
from testkit.servers import MODEL, TOKEN, WEBCHAT_SECRET

RASA_API = ["/model", "/model/parse", "/conversations/x/tracker", "/conversations/x/tracker/events", "/status",
            "/version", "/domain", "/ready", "/live"]


@pytest.mark.parametrize("path", RASA_API)
def test_the_public_port_refuses_rasas_http_api_even_with_the_token(cluster, path):
    for method in ("GET", "POST", "PUT"):
        response = requests.request(method, f"{cluster.url}{path}", params={"token": TOKEN}, json={}, timeout=10)
        assert response.status_code == 404, (method, path, response.text[:200])


def test_the_public_port_carries_the_channels_and_the_web_app(cluster):
    sender = f"surface-{uuid.uuid4().hex[:8]}"
    answer = requests.post(f"{cluster.url}/webhooks/rest/webhook", params={"sender": sender},
                           json={"sender": sender, "message": "你好"}, timeout=60)
    assert answer.status_code == 200 and answer.json(), answer.text
    assert requests.get(f"{cluster.url}/socket.io/", params={"EIO": "4", "transport": "polling"},
                        timeout=10).status_code == 200
    assert requests.get(f"{cluster.url}/widget/kuanxin-chat.js", timeout=10).status_code == 200
    assert requests.get(f"{cluster.url}/console/login", timeout=10).status_code == 200


def test_a_long_message_passes_and_a_body_beyond_64k_stops_at_nginx(cluster):
    sender = f"surface-{uuid.uuid4().hex[:8]}"
    longest = requests.post(f"{cluster.url}/webhooks/rest/webhook", params={"sender": sender},
                            json={"sender": sender, "message": "我想问一下" * 400}, timeout=60)  # 2,000 characters
    assert longest.status_code == 200, longest.text[:300]
    huge = requests.post(f"{cluster.url}/webhooks/rest/webhook", params={"sender": sender},
                         json={"sender": sender, "message": "长" * 30_000}, timeout=60)  # 90 KB of UTF-8
    assert huge.status_code == 413


def test_inside_the_api_answers_only_with_the_token(cluster):
    sender = f"surface-{uuid.uuid4().hex[:8]}"
    for instance in cluster.instances:
        assert requests.get(f"{instance.rasa_url}/conversations/{sender}/tracker", timeout=10).status_code == 401
        assert requests.get(f"{instance.rasa_url}/conversations/{sender}/tracker", params={"token": TOKEN},
                            timeout=10).status_code == 200
    assert requests.get(f"{cluster.rasa_url}/status", params={"token": TOKEN}, timeout=10).status_code == 200


def _command_lines() -> list[str]:
    return subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout.splitlines()


def test_no_secret_is_on_any_command_line(cluster):
    secrets = {"KUANXIN_RASA_TOKEN": TOKEN, "KUANXIN_WEBCHAT_SECRET": WEBCHAT_SECRET}
    secrets.update({name: value for name, value in cluster.env.items()
                    if any(word in name for word in ("TOKEN", "SECRET", "PASSWORD", "_KEY")) and len(value) >= 8})
    ours = {str(child.pid) for i in cluster.instances for child in i.supervisor.children}
    ours |= {str(child.pid) for child in cluster.supervisor.children}
    lines = _command_lines()
    assert ours <= {line.split(maxsplit=1)[0] for line in lines}  # every child of the cluster is listed
    for line in lines:
        for name, value in secrets.items():
            assert value not in line, f"{name} is visible in `ps`: {line.split(maxsplit=1)[0]}"
        assert "--auth-token" not in line or line.split(maxsplit=1)[0] not in ours, line[:120]


def test_demo_pages_are_off_in_a_cluster_unless_asked_for(tmp_path: Path):
    stores = {"KUANXIN_TRACKER_STORE_URL": "postgresql://u@127.0.0.1:5432/c", "KUANXIN_REDIS_URL": "redis://127.0.0.1:6379/0"}

    def pages(env: dict, **options) -> str:
        return Cluster(1, free_port(), env, tmp_path, "t" * 16, MODEL, **options).web_env["KUANXIN_DEMO_PAGES"]
    assert pages(stores) == "0"
    assert pages(stores, demo_pages=True) == "1"
    assert pages({**stores, "KUANXIN_DEMO_PAGES": "1"}) == "1"
    assert pages({**stores, "KUANXIN_DEMO_PAGES": "0"}, demo_pages=True) == "1"
