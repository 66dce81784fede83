"""Hand-over to staff: disputes, abuse complaints, requests for a person, and turns the assistant cannot read."""
from __future__ import annotations

import re
from itertools import islice
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_intent, latest_text, reset_request_slots, user_messages
from actions.texts import language_of, say, text_for

REASON_BY_INTENT = {
    "dispute_debt": "dispute",
    "report_collection_abuse": "collection_abuse",
    "request_human": "human",
    "nlu_fallback": "low_confidence",
}

# "你们会不会爆我通讯录": asking whether collectors WILL do something is not a report that they did, so
# nothing is filed and the borrower hears their rights; "催收的让我转他个人卡" reports what a collector did,
# whatever the classifier made of the question after it ("可以吗"), so it is filed
WILL_IT_HAPPEN = re.compile(r"会不会|会吗|是不是会|是不是要|会.{0,8}吗|"
                            r"will (?:you|they)|would (?:you|they)|are they allowed", re.IGNORECASE)
IT_HAPPENED = re.compile(r"了|已经|天天|每天|一直|总是|老是|昨天|今天|刚才|刚刚|还在|居然|竟然|"
                         r"\b(?:did|kept|keep|called|threatened|yelled)\b", re.IGNORECASE)
COLLECTOR_DID = re.compile(r"(?:催收|催款|打电话的人|collector)(?:的|员|人员|s)?[^会能可,,。??]{0,4}"
                           r"(?:让|要|叫|逼|威胁|骂|吓唬|打给|打到|联系了|找了|加我|told me|asked me|wants me)",
                           re.IGNORECASE)


# more of what collectors did, told after a complaint: "他们还骂人", "还威胁说要上门"
MORE_ABUSE = re.compile(r"骂|威胁|吓唬|恐吓|侮辱|羞辱|通讯录|上门|冒充|打给我(?:家|妈|爸|老婆|老公|同事|朋友|领导)|"
                        r"\b(?:swore|threaten\w*|insult\w*|contacts)\b", re.IGNORECASE)


def adds_to_a_complaint(tracker: Tracker) -> bool:
    """This message tells more abuse, and the conversation already filed a complaint about collectors."""
    earlier = [intent for _text, intent in islice(user_messages(tracker), 1, None)]
    return "report_collection_abuse" in earlier and bool(MORE_ABUSE.search(latest_text(tracker)))


def asks_whether_it_will_happen(text: str) -> bool:
    return bool(WILL_IT_HAPPEN.search(text)) and not IT_HAPPENED.search(text) and not COLLECTOR_DID.search(text)


def reports_what_a_collector_did(text: str) -> bool:
    return bool(COLLECTOR_DID.search(text))


# reasons with their own next steps (texts/zh.yml "escalation.<reason>"); any other reason is a person asked for
OWN_NEXT_STEPS = ("collection_abuse", "dispute", "low_confidence")


def next_steps(tracker: Tracker, reason: str, reference: str, response_time: str) -> str:
    """What happens now, for the reason the borrower was handed over (a person, by default)."""
    rights = text_for(tracker, "escalation.rights") if reason == "collection_abuse" else ""
    key = f"escalation.{reason}" if reason in OWN_NEXT_STEPS else "escalation.human"
    return text_for(tracker, key, reference=reference,
                    response_time=response_time, rights=rights)


def escalate(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, policy, today, now) -> None:
    priority = "high" if reason in policy.escalation.high_priority_reasons else "normal"
    escalation, created = accounts().open_escalation(
        conversation_id=tracker.sender_id,
        borrower_id=tracker.get_slot("borrower_id") if tracker.get_slot("verified") else None,
        reason=reason, priority=priority, channel=tracker.get_latest_input_channel(),
        summary=latest_text(tracker), today=today, now=now)
    response_time = policy.words(language_of(tracker)).response_time[priority]
    if not created:  # "我要投诉" again, "他们还骂人": already on file, and staff read the whole conversation
        say(dispatcher, tracker, "escalation.again", reference=escalation.reference or "", response_time=response_time)
        return
    dispatcher.utter_message(text=next_steps(tracker, reason, escalation.reference or "", response_time))


class ActionEscalate(KuanxinAction):
    def name(self) -> str:
        return "action_escalate"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        reason = REASON_BY_INTENT.get(latest_intent(tracker) or "", "human")
        if reason == "collection_abuse" and asks_whether_it_will_happen(latest_text(tracker)):
            say(dispatcher, tracker, "rights.summary")
            return reset_request_slots()
        escalate(dispatcher, tracker, reason, self.policy(), self.today(), self.now())
        return reset_request_slots()


class ActionHandleLowConfidence(KuanxinAction):
    """Asks to rephrase once; the second unclear message in a row goes to a person."""

    def name(self) -> str:
        return "action_handle_low_confidence"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        last_two = [intent for _text, intent in islice(user_messages(tracker), 2)]
        if last_two == ["nlu_fallback", "nlu_fallback"]:
            escalate(dispatcher, tracker, "low_confidence", self.policy(), self.today(), self.now())
        else:
            say(dispatcher, tracker, "fallback.rephrase",
                buttons=[{"title": text_for(tracker, "button.check_overdue"), "payload": "/check_overdue"},
                         {"title": text_for(tracker, "button.human"), "payload": "/request_human"}])
        return []
