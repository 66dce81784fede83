"""Replies from the text catalogue (kuanxin.core.texts), in the conversation's language."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from kuanxin.core import texts


def language_of(tracker: Tracker) -> str:
    return tracker.get_slot("language") or texts.DEFAULT_LANGUAGE


def text_for(tracker: Tracker, key: str, **values: Any) -> str:
    return texts.text(key, language_of(tracker), **values)


def say(dispatcher: CollectingDispatcher, tracker: Tracker, key: str, buttons: list[dict] | None = None,
        **values: Any) -> None:
    """Sends the catalogue's message `key` with its placeholders filled (and buttons, if any)."""
    dispatcher.utter_message(text=text_for(tracker, key, **values), buttons=buttons or [])
