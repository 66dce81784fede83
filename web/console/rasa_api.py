"""The console's calls to Rasa's HTTP API: read a conversation, pause and resume it, send a staff reply."""
from __future__ import annotations

from urllib.parse import quote

import requests

from kuanxin.core import settings, texts
from kuanxin.core.staff_reply import staff_reply_data
from kuanxin.outbound.payment_news import ConversationState

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


def latest_event_times(conversation_ids) -> dict[str, float]:
    """Each conversation's newest event time, from Rasa itself (its tracker without the events): how the live
    conversation page sees new messages when Rasa keeps conversations in memory."""
    found = {}
    for conversation_id in conversation_ids:
        latest = _call("GET", _url(conversation_id), params={"include_events": "NONE"}).get("latest_event_time")
        if isinstance(latest, (int, float)):
            found[conversation_id] = float(latest)
    return found


def typing_now(conversation_ids) -> set[str]:
    """Of these conversations, those whose borrower is typing in the web chat (asked of the chat channel; only when
    there is no Redis to carry it)."""
    base = settings.current().value("KUANXIN_RASA_URL").rstrip("/")
    answer = _call("GET", f"{base}/webhooks/webchat/typing", params={"conversation": sorted(conversation_ids)})
    typing = answer.get("typing")
    return {c for c in typing if isinstance(c, str)} & set(conversation_ids) if isinstance(typing, list) else set()


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


def conversation_state(conversation_id: str) -> tuple[str | None, str | None]:
    """(the borrower verified in the conversation, or None; the form being filled in, or None), from its tracker."""
    answer = _call("GET", _url(conversation_id), params={"include_events": "NONE"})
    slots = answer.get("slots") if isinstance(answer.get("slots"), dict) else {}
    borrower = slots.get("borrower_id") if slots.get("verified") is True else None
    loop = answer.get("active_loop") if isinstance(answer.get("active_loop"), dict) else {}
    form = loop.get("name")
    return (borrower if isinstance(borrower, str) and borrower else None,
            form if isinstance(form, str) and form else None)


def tell(conversation_id: str, text: str) -> None:
    """A message from the assistant, appended to the transcript and delivered through the borrower's latest
    channel (what the conversation is told of a document received)."""
    _call("POST", _url(conversation_id, "/events"), json={"event": "bot", "text": text},
          params={"output_channel": "latest", "execute_side_effects": "true"})


def news_state(conversation_id: str) -> ConversationState:
    """What decides whether a payment may be pushed into the conversation (kuanxin/outbound/payment_news.py): the
    borrower it is verified as, whether staff paused it, when it last moved, and its language; one call, no events."""
    answer = _call("GET", _url(conversation_id), params={"include_events": "NONE"})
    slots = answer.get("slots") if isinstance(answer.get("slots"), dict) else {}
    borrower = slots.get("borrower_id") if slots.get("verified") is True else None
    latest = answer.get("latest_event_time")
    language = slots.get("language")
    return ConversationState(
        verified_borrower=borrower if isinstance(borrower, str) and borrower else None,
        paused=answer.get("paused") is not False,  # unknown counts as paused: never speak over staff
        latest_event_time=float(latest) if isinstance(latest, (int, float)) else None,
        language=language if language in texts.LANGUAGES else texts.DEFAULT_LANGUAGE,
        channel=answer.get("latest_input_channel") if isinstance(answer.get("latest_input_channel"), str) else None)
