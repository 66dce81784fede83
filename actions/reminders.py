"""退订 in the conversation: the verified borrower's reminders stop at once."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts
from actions.texts import say, text_for
from kuanxin.reminders.optout import opt_out


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
