"""What every kuanxin channel says, accepts and refuses alike.

Nothing a client sends reaches Rasa unchecked: a sender id is a short plain token (the SQL tracker
store cannot hold NUL and Rasa's column holds 255 characters), a message is text without control
characters or lone surrogates, cut at MAX_MESSAGE_CHARS (kuanxin.core.safe_text).
"""
from __future__ import annotations

from kuanxin.core import language, safe_text, texts
from kuanxin.core.safe_text import has_unsafe_characters, valid_message_id, valid_sender_id  # noqa: F401 - re-exported

MAX_MESSAGE_CHARS = 2000  # longer than any borrower types; the rest is cut, not refused
MAX_BODY_BYTES = 64 * 1024  # a 2,000-character message in any encoding, with its envelope
RETRY_AFTER_SECONDS = 2



def language_of_text(text: str) -> str:
    """The language a message is written in (kuanxin.core.language), Chinese when it does not tell."""
    return language.written_in(text or "") or texts.DEFAULT_LANGUAGE


def empty_message() -> str:
    """The answer to an empty message: in Chinese, since an empty message says nothing of its language."""
    return texts.text("channel.empty_message")


def unavailable(text: str) -> str:
    """"Busy, send it again", in the language of the message that could not be handled."""
    return texts.text("channel.unavailable", language_of_text(text))


def clean_text(value: str) -> str:
    return safe_text.clean_text(value, MAX_MESSAGE_CHARS)
