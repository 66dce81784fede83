"""Reminders in the conversation: 退订 stops them at once; a verified borrower may say how and when they would like
them (短信 or 微信, a window inside the contact hours, a pause after a hardship), kept by kuanxin.store.preferences
and followed by the reminders run."""
from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_text, user_messages
from actions.loan_facts import question_text
from actions.texts import say, text_for
from kuanxin.core.formats import Day
from kuanxin.core.preference_words import channel_of, wants_pause, window_of
from kuanxin.core.zh_parse import HARDSHIP_CUE
from kuanxin.reminders.optout import opt_out
from kuanxin.store import preferences


class ActionStopReminders(KuanxinAction):
    def name(self) -> str:
        return "action_stop_reminders"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower_id = tracker.get_slot("borrower_id")
        if not tracker.get_slot("verified") or not borrower_id:
            say(dispatcher, tracker, "reminders.stop.not_verified")
            return []
        channel = tracker.get_latest_input_channel() or "chat"
        new = opt_out(accounts().db, borrower_id, channel, self.now())
        first = text_for(tracker, "reminders.stop.done") if new else text_for(tracker, "reminders.stop.already")
        dispatcher.utter_message(text=first + text_for(tracker, "reminders.stop.outro"))
        return []


class ActionSetReminderPreferences(KuanxinAction):
    """"改成短信 晚上7点到9点提醒我" / "失业了 这几天先别提醒": stored as said (what was not said stays as it was)."""

    def name(self) -> str:
        return "action_set_reminder_preferences"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower_id = tracker.get_slot("borrower_id")
        if not tracker.get_slot("verified") or not borrower_id:
            say(dispatcher, tracker, "reminders.prefs.not_verified")
            return []
        # the message that asked: this one, or the one before the identity check
        text = question_text(tracker, "set_reminder_preferences") or latest_text(tracker)
        rules = self.policy().reminders
        said: dict[str, Any] = {}
        if channel := channel_of(text):
            said["channel"] = channel
        if window := window_of(text, (rules.contact_start, rules.contact_end)):
            start, end = max(window[0], rules.contact_start), min(window[1], rules.contact_end)
            if start >= end:  # nothing of it is lawful: say when we may contact them
                say(dispatcher, tracker, "reminders.prefs.outside_hours", start=f"{window[0]:%H:%M}",
                    end=f"{window[1]:%H:%M}")
                return []
            said["window"] = (start, end)
        if wants_pause(text):
            if not hardship_stated(tracker):
                say(dispatcher, tracker, "reminders.prefs.pause_needs_hardship", days=rules.hardship_pause_days)
                return []
            said["paused_until"] = self.today() + dt.timedelta(days=rules.hardship_pause_days)
        if not said:
            say(dispatcher, tracker, "reminders.prefs.ask")
            return []
        chosen = preferences.record(accounts().db, borrower_id, conversation_id=tracker.sender_id, now=self.now(),
                                    **said)
        say(dispatcher, tracker, "reminders.prefs.saved", summary=summary(tracker, chosen))
        return []


def hardship_stated(tracker: Tracker) -> bool:
    """A hardship told in this message or earlier in the conversation ("我失业了", intent state_hardship)."""
    return any(intent == "state_hardship" or HARDSHIP_CUE.search(text) for text, intent in user_messages(tracker))


def summary(tracker: Tracker, chosen: preferences.Preference) -> str:
    parts = [text_for(tracker, f"reminders.prefs.channel.{chosen.channel or 'default'}")]
    if chosen.window:
        parts.append(text_for(tracker, "reminders.prefs.window", start=f"{chosen.window[0]:%H:%M}",
                              end=f"{chosen.window[1]:%H:%M}"))
    if chosen.paused_until:
        parts.append(text_for(tracker, "reminders.prefs.paused", day=Day(chosen.paused_until)))
    return text_for(tracker, "reminders.prefs.joiner").join(parts)
