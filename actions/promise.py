"""Promise to pay (承诺还款): a date within the policy's window, repeated back exactly, then recorded."""
from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_text, verified_borrower
from actions.forms import FormValidator, activating, trigger_text
from actions.render import date_cn
from actions.requests_common import CONFIRM_BUTTONS, reset_request_slots
from kuanxin import plans
from kuanxin.money import ZERO, yuan
from kuanxin.zh_parse import parse_date


def overdue_total(borrower, today: dt.date):
    return sum((s.total for s in plans.statements(borrower, today) if s.is_overdue), ZERO)


class ValidatePromiseForm(FormValidator):
    form = "promise_form"
    slots = ("promise_date", "confirm_request")

    async def fill(self, dispatcher: CollectingDispatcher, tracker: Tracker, values: dict,
                   requested: str | None) -> dict:
        borrower = verified_borrower(tracker)
        if borrower is None or overdue_total(borrower, self.today()) == ZERO:
            return {"request_blocked": True}
        text = trigger_text(tracker, "promise_to_pay") if activating(tracker) else latest_text(tracker)
        found = self.confirmation(tracker, requested)
        if values["promise_date"] is None or requested == "promise_date":
            day = parse_date(text, self.today())
            problem = self.date_problem(day) if day else None
            if problem:
                dispatcher.utter_message(text=problem)
            elif day:
                found["promise_date"] = day.isoformat()
        return found

    def date_problem(self, day: dt.date) -> str | None:
        today, days = self.today(), self.policy().promise_max_days_ahead
        if day < today:
            return f"{date_cn(day)}已经过去了,请说一个今天或以后的日期。"
        if (day - today).days > days:
            latest = today + dt.timedelta(days=days)
            return f"我这里只能登记{days}天以内的还款日期(最晚{date_cn(latest)})。更晚的话,可以考虑申请延期或分期。"
        return None


class ActionAskPromiseConfirm(KuanxinAction):
    def name(self) -> str:
        return "action_ask_promise_form_confirm_request"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        day = dt.date.fromisoformat(tracker.get_slot("promise_date"))
        dispatcher.utter_message(
            text=f"跟您确认一下:您承诺在{date_cn(day)}还款,目前逾期总额{yuan(overdue_total(borrower, self.today()))}。"
                 f"对吗?", buttons=CONFIRM_BUTTONS)
        return []


class ActionSubmitPromise(KuanxinAction):
    def name(self) -> str:
        return "action_submit_promise"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        if tracker.get_slot("request_blocked") or borrower is None:
            dispatcher.utter_message(text="您目前没有逾期金额,不需要登记还款日期。按时还款就好。")
        elif not tracker.get_slot("confirm_request"):
            dispatcher.utter_message(text="好的,这次先不登记。想好日期后随时告诉我。")
        else:
            day = dt.date.fromisoformat(tracker.get_slot("promise_date"))
            promise, _created = accounts().record_promise(
                borrower_id=borrower.id, promised_date=day, amount=overdue_total(borrower, self.today()),
                conversation_id=tracker.sender_id, today=self.today(), now=self.now())
            dispatcher.utter_message(
                text=f"已为您登记:{date_cn(day)}还款{yuan(promise.amount)},编号{promise.reference}。"
                     f"请在当天通过官方渠道还款;如果到时有困难,请提前告诉我们,一起想办法。")
        return reset_request_slots()
