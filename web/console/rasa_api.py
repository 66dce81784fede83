"""The console's calls to Rasa's HTTP API: read a conversation, pause and resume it, send a staff reply."""
from __future__ import annotations

from urllib.parse import quote

import requests

from kuanxin.core import settings
from kuanxin.core.staff_reply import staff_reply_data

TIMEOUT_SECONDS = 10


class RasaUnavailable(RuntimeError):
    """Rasa did not answer or refused; the console shows a message instead of the data."""


def _url(conversation_id: str, path: str = "") -> str:
    base = settings.current().value("KUANXIN_RASA_URL").rstrip("/")
    return f"{base}/conversations/{quote(conversation_id, safe='')}/tracker{path}"


def _token() -> str:
    from kuanxin.core.settings import rasa_token
    return rasa_token()


def _call(method: str, url: str, **kwargs) -> dict:
    try:
        response = requests.request(method, url, timeout=TIMEOUT_SECONDS,
                                    params={"token": _token(), **kwargs.pop("params", {})}, **kwargs)
    except requests.Timeout:
        raise RasaUnavailable("助手服务暂时无法连接(等待超时)") from None
    except requests.RequestException:
        raise RasaUnavailable("助手服务暂时无法连接") from None
    if response.status_code != 200:
        raise RasaUnavailable(f"助手服务返回错误 {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise RasaUnavailable("助手服务返回了无法识别的内容") from None
    if not isinstance(answer, dict):
        raise RasaUnavailable("助手服务返回了无法识别的内容")
    return answer


def tracker(conversation_id: str) -> dict:
    return _call("GET", _url(conversation_id))


def pause(conversation_id: str) -> None:
    """Take-over: Rasa keeps recording the borrower's messages but stops answering them."""
    _call("POST", _url(conversation_id, "/events"), json={"event": "pause"})


def resume(conversation_id: str) -> None:
    _call("POST", _url(conversation_id, "/events"), json={"event": "resume"})


def send_staff_reply(conversation_id: str, text: str, staff_name: str) -> None:
    """Appends the reply to the transcript and delivers it through the borrower's latest channel.

    Each channel's output renders `custom.kuanxin_staff` as a message from a person.
    """
    event = {"event": "bot", "text": text, "data": staff_reply_data(staff_name)}
    _call("POST", _url(conversation_id, "/events"), json=event,
          params={"output_channel": "latest", "execute_side_effects": "true"})
