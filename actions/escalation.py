"""Hand-over to staff: disputes, abuse complaints, requests for a person, and turns the assistant cannot read."""
from __future__ import annotations

from itertools import islice
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, latest_intent, latest_text, user_messages
from actions.requests_common import reset_request_slots

REASON_BY_INTENT = {
    "dispute_debt": "dispute",
    "report_collection_abuse": "collection_abuse",
    "request_human": "human",
    "nlu_fallback": "low_confidence",
}

BORROWER_RIGHTS = (
    "您的权利:催收人员不得威胁、辱骂、恐吓您,不得冒充公检法或律师,不得向您的亲友、同事等第三方透露您的欠款,"
    "未经您同意不得在22:00至次日08:00之间联系您;也不得要求您向个人账户转账或收取额外费用。"
)


def next_steps(reason: str, reference: str, lender, response_time: str) -> str:
    if reason == "collection_abuse":
        return (f"非常抱歉让您遇到这样的情况。您的投诉已登记(编号{reference}),按高优先级处理,"
                f"工作人员会在{response_time}联系您核实。\n{BORROWER_RIGHTS}\n"
                f"请保留通话录音、短信截图等证据。投诉渠道:{lender.complaint_channel},我们会在"
                f"{lender.complaint_reply_days}天内答复;对处理结果不满意,可以拨打国家金融监督管理总局消费者投诉热线12378。")
    if reason == "dispute":
        return (f"已为您登记对欠款的异议(编号{reference})。工作人员会在{response_time}核实账目并联系您,"
                f"核实期间可以先准备好还款凭证等材料。如果是征信记录有误,也可以向征信中心提出异议,或拨打12363。")
    if reason == "low_confidence":
        return (f"抱歉,我好像没能理解您的意思。已为您转接人工客服(编号{reference}),"
                f"工作人员会在{response_time}回复您。")
    return (f"好的,已为您转接人工客服(编号{reference})。工作人员会在{response_time}回复您"
            f"(服务时间:{lender.service_hours}),也可以直接拨打客服热线{lender.hotline}。")


def escalate(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, policy, today, now) -> None:
    priority = "high" if reason in policy.escalation.high_priority_reasons else "normal"
    escalation, _created = accounts().open_escalation(
        conversation_id=tracker.sender_id,
        borrower_id=tracker.get_slot("borrower_id") if tracker.get_slot("verified") else None,
        reason=reason, priority=priority, channel=tracker.get_latest_input_channel(),
        summary=latest_text(tracker), today=today, now=now)
    dispatcher.utter_message(text=next_steps(reason, escalation.reference, policy.lender,
                                             policy.escalation.response_time[priority]))


class ActionEscalate(KuanxinAction):
    def name(self) -> str:
        return "action_escalate"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        reason = REASON_BY_INTENT.get(latest_intent(tracker), "human")
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
            dispatcher.utter_message(
                text="抱歉,我没太明白您的意思。可以换个说法吗?比如「我欠多少钱」「想申请分期」「转人工」。",
                buttons=[{"title": "查询欠款", "payload": "/check_overdue"},
                         {"title": "转人工", "payload": "/request_human"}])
        return []
