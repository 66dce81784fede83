"""WeChat end to end: the double pushes to the running channel and receives its answers."""
import pytest
import requests

from testkit.servers import TOKEN
from testkit.wechat import Platform, new_openid


@pytest.fixture
def platform(servers, wechat_account, wechat_api, action_proxy, db):
    wechat_api.reset(keep_token=True)
    action_proxy.delays.clear()
    yield Platform(wechat_account, f"{servers.rasa_url}/webhooks/wechat/webhook")
    action_proxy.delays.clear()


@pytest.fixture
def openid():
    return new_openid()


class Tracker:
    """The conversation as Rasa's tracker store holds it."""

    def __init__(self, servers):
        self.servers = servers

    def events(self, sender: str) -> list[dict]:
        response = requests.get(f"{self.servers.rasa_url}/conversations/{sender}/tracker",
                                params={"token": TOKEN}, timeout=30)
        response.raise_for_status()
        return response.json()["events"]

    def user_texts(self, sender: str) -> list[str]:
        return [e["text"] for e in self.events(sender) if e["event"] == "user"]

    def forget(self, sender: str) -> None:
        """Empties the conversation, so the next message starts a new session (as after a long pause)."""
        requests.put(f"{self.servers.rasa_url}/conversations/{sender}/tracker/events",
                     params={"token": TOKEN}, json=[], timeout=30).raise_for_status()


@pytest.fixture
def tracker(servers):
    return Tracker(servers)
