"""退订 in the conversation: the verified borrower's reminders stop at once."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts
from kuanxin.reminders.optout import opt_out


class ActionStopReminders(KuanxinAction):
    def name(self) -> str:
        return "action_stop_reminders"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower_id = tracker.get_slot("borrower_id")
        if not tracker.get_slot("verified") or not borrower_id:
            dispatcher.utter_message(text="核实身份后才能为您取消还款提醒。需要时请说「取消提醒」。")
            return []
        channel = tracker.get_latest_input_channel() or "chat"
        new = opt_out(accounts().db, borrower_id, channel, self.now())
        first = "已为您取消还款提醒,今后不会再通过短信或微信给您发送提醒。" if new else \
            "您之前已经取消了还款提醒,我们不会再给您发送提醒。"
        dispatcher.utter_message(text=first + "您仍然可以随时来这里查询欠款;"
                                              "如果还款遇到困难,可以说「申请延期」或「申请分期」。")
        return []
