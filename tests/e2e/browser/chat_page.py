"""A borrower's browser tab with the chat widget (Playwright's CSS locators pierce its open shadow root)."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

RESUME_KEY = re.compile(r"^kuanxin-chat:.*:(signed|anonymous)$")


class ChatPage:
    """One borrower's browser tab with the widget."""

    def __init__(self, page: Page, url: str):
        self.page = page
        page.goto(url)

    def open(self) -> ChatPage:
        launcher = self.page.locator("#kuanxin-chat .launcher")
        if launcher.is_visible():
            launcher.click()
        expect(self.page.locator("#kuanxin-chat .status")).to_contain_text("已连接")
        return self

    def send(self, text: str) -> None:
        before = self.bot_messages().count()
        self.page.locator("#kuanxin-chat textarea").fill(text)
        self.page.locator("#kuanxin-chat textarea").press("Enter")
        expect(self.bot_messages()).not_to_have_count(before)
        expect(self.page.locator("#kuanxin-chat .typing")).to_be_hidden()
        # the whole turn answered: the first answer hides the typing dots, and a turn of several answers (identity
        # checked, then the statement) sends the rest a little later; the server acknowledges the message after
        # its last answer
        expect(self.unsent()).to_have_count(0)

    def bot_messages(self):
        return self.page.locator("#kuanxin-chat .message.bot")

    def transcript(self) -> str:
        return self.page.locator("#kuanxin-chat .log").inner_text()

    def session_id(self) -> str:
        stored = self.page.evaluate("() => Object.entries(localStorage)")
        return next(value for key, value in stored if RESUME_KEY.match(key)).split(".")[0]

    def send_all_at_once(self, texts: list[str]) -> None:
        """Types and sends every text in one go (Enter after each), without waiting for any answer."""
        self.page.evaluate("""(texts) => {
            const root = document.querySelector('#kuanxin-chat').shadowRoot;
            const input = root.querySelector('textarea');
            for (const text of texts) {
                input.value = text;
                input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
            }
        }""", texts)

    def unsent(self):
        """The borrower's messages not yet acknowledged by the server, or given up on."""
        return self.page.locator("#kuanxin-chat .message.user.pending, #kuanxin-chat .message.user.failed")

    def say_unanswered(self, text: str) -> None:
        """Sends a message the assistant is expected not to answer (a conversation taken over by staff)."""
        self.page.locator("#kuanxin-chat textarea").fill(text)
        self.page.locator("#kuanxin-chat textarea").press("Enter")
        expect(self.page.locator("#kuanxin-chat .message.user").last).to_contain_text(text)
        expect(self.unsent()).to_have_count(0)  # acknowledged: the server has it, answered or not
