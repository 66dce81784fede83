"""Alerts in a real Chromium: staff switch on 提示音 and 桌面通知 (remembered by the browser, off by default, the
notification permission asked only then); a new escalation written by another process, as the action server writes
it, plays a tone made with the Web Audio API and, while the page is hidden, shows a browser notification with no
borrower number; at most one alert every few seconds; none for the page's own claim; none with the toggles off; and a
conversation page alerts when the borrower writes.

Window.Notification and AudioContext are wrapped by an init script that records each use and still calls the real
one, and the page's visibility is switched by the test (a headless page is always visible otherwise)."""
from __future__ import annotations

import datetime as dt
import re
import uuid

from playwright.sync_api import expect

from kuanxin.console.staff import StaffDirectory
from kuanxin.core import clock
from kuanxin.store.accounts import Accounts
from testkit.servers import TODAY
from tests.e2e.browser.axe import violations
from tests.e2e.browser.test_console_shift import english_in, sign_in, visible_text
from tests.e2e.console_client import PASSWORD

RECORDER = """
(() => {
  window.recorded = {notifications: [], shown: [], tones: 0, permissionAsked: 0};
  let hidden = false;
  window.pretendHidden = (value) => { hidden = value; };
  Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(Document.prototype, "visibilityState", {configurable: true,
                        get: () => hidden ? "hidden" : "visible"});
  const RealNotification = window.Notification;
  function Recorded(title, options) {
    window.recorded.notifications.push({title, body: (options || {}).body || ""});
    const made = new RealNotification(title, options);
    made.addEventListener("show", () => window.recorded.shown.push(title));
    return made;
  }
  Object.defineProperty(Recorded, "permission", {get: () => RealNotification.permission});
  Recorded.requestPermission = (...args) => {
    window.recorded.permissionAsked += 1;
    return RealNotification.requestPermission(...args);
  };
  Recorded.prototype = RealNotification.prototype;
  window.Notification = Recorded;
  const RealAudio = window.AudioContext;
  window.AudioContext = class extends RealAudio {
    createOscillator() { window.recorded.tones += 1; return super.createOscillator(); }
  };
})();
"""
SILENCE_MS = 6000  # longer than the gap between two alerts and than two polls of the live queue


def escalate(db, conversation: str, summary: str):
    escalation, _ = Accounts(db).open_escalation(
        conversation_id=conversation, borrower_id="B1001", reason="dispute", priority="normal", channel="webchat",
        summary=summary, today=dt.date.fromisoformat(TODAY), now=clock.now())
    return escalation


def recorded(page) -> dict:
    return page.evaluate("window.recorded")


def console_page(new_context, servers, username):
    context = new_context()
    context.grant_permissions(["notifications"], origin=servers.web_url)
    context.add_init_script(RECORDER)
    page = context.new_page()
    sign_in(page, servers.web_url, username)
    page.goto(f"{servers.web_url}/console?status=all")
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    return page


def test_a_new_escalation_sounds_and_notifies_when_switched_on(servers, db, borrower, new_context, monkeypatch):
    monkeypatch.setenv("KUANXIN_TODAY", TODAY)
    tag = uuid.uuid4().hex[:8]
    agent = StaffDirectory(db).add(f"qian-{tag}", PASSWORD, "agent", "钱客服", clock.now())
    alerted, quiet = (console_page(new_context, servers, agent.username) for _ in range(2))

    # off by default; switched on by keyboard, the permission asked only then, and remembered by this browser
    sound, notify = alerted.get_by_label("提示音"), alerted.get_by_label("桌面通知")
    expect(sound).not_to_be_checked()
    expect(notify).not_to_be_checked()
    assert recorded(alerted)["permissionAsked"] == 0
    sound.focus()
    alerted.keyboard.press("Space")
    notify.focus()
    alerted.keyboard.press("Space")
    expect(notify).to_be_checked()
    expect(alerted.locator("#alert-state")).to_contain_text("桌面通知已开启")
    assert recorded(alerted)["permissionAsked"] == 1
    assert alerted.evaluate("[localStorage.getItem('kuanxin.alerts.sound'), localStorage.getItem("
                            "'kuanxin.alerts.notify')]") == ["on", "on"]
    assert violations(alerted) == []
    assert english_in(visible_text(alerted)) == set()
    alerted.reload()
    expect(alerted.locator("body")).to_have_attribute("data-live", "on")
    expect(alerted.get_by_label("提示音")).to_be_checked()
    expect(alerted.get_by_label("桌面通知")).to_be_checked()
    alerted.evaluate("window.pretendHidden(true)")

    # two escalations at once, written as the action server writes them: one tone, one notification, no number
    first = escalate(db, f"alert-{tag}-1", "借款人对金额有异议,手机 138****5678")
    second = escalate(db, f"alert-{tag}-2", "借款人要求人工")
    for page in (alerted, quiet):
        expect(page.locator(f'tr.escalation[data-reference="{second.reference}"]')).to_be_visible(timeout=10_000)
    alerted.wait_for_function("window.recorded.notifications.length > 0")
    alerted.wait_for_timeout(SILENCE_MS)
    heard = recorded(alerted)
    assert heard["tones"] == 1
    assert len(heard["notifications"]) == 1
    notification = heard["notifications"][0]
    assert notification["title"].startswith("新的转人工:") and len(notification["title"]) > len("新的转人工:")
    assert first.reference in notification["body"] or second.reference in notification["body"]
    assert not re.search(r"1\d{10}|B1001", notification["title"] + notification["body"])
    alerted.wait_for_function("window.recorded.shown.length === 1")  # the browser showed it
    assert recorded(quiet) == {"notifications": [], "shown": [], "tones": 0, "permissionAsked": 0}  # toggles off

    # visible again: the tone only; and a claim (here from the staff member's other window) alerts nothing
    alerted.evaluate("window.pretendHidden(false)")
    third = escalate(db, f"alert-{tag}-3", "借款人要求人工")
    row = alerted.locator(f'tr.escalation[data-reference="{third.reference}"]')
    expect(row).to_be_visible(timeout=10_000)
    alerted.wait_for_function("window.recorded.tones === 2")
    assert len(recorded(alerted)["notifications"]) == 1
    alerted.wait_for_timeout(SILENCE_MS)
    claiming = console_page(new_context, servers, agent.username)
    claiming.locator(f'a:text-is("{third.reference}")').click()
    claiming.get_by_role("button", name="认领").click()
    expect(claiming.locator("#owner")).to_have_text("钱客服")
    expect(row).to_contain_text("钱客服", timeout=10_000)
    alerted.wait_for_timeout(SILENCE_MS)
    assert recorded(alerted)["tones"] == 2 and len(recorded(alerted)["notifications"]) == 1

    # a conversation page, hidden: the borrower writes, the page sounds and notifies (no number in it)
    borrower.verify("13812345678", "123X")
    escalation = escalate(db, borrower.sender, "借款人要求人工")
    alerted.goto(f"{servers.web_url}/console/escalations/{escalation.id}")
    expect(alerted.locator("body")).to_have_attribute("data-live", "on")
    alerted.evaluate("window.pretendHidden(true)")
    assert violations(alerted) == []
    borrower.say("我下个月十五号可以先还一部分")
    expect(alerted.locator("#transcript")).to_contain_text("先还一部分", timeout=10_000)
    alerted.wait_for_function("window.recorded.notifications.length === 1")
    heard = recorded(alerted)
    assert heard["tones"] == 1
    assert heard["notifications"] == [{"title": "借款人发来新消息", "body": escalation.reference}]
