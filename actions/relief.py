"""Hardship and penalty waivers: acknowledge, offer exactly what this borrower can apply for, record waivers."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, verified_borrower
from actions.forms import trigger_text
from actions.render import loan_title
from actions.requests_common import HUMAN_BUTTON, OPTION_BUTTONS, OPTION_WORDS, open_kinds
from kuanxin import plans
from kuanxin.money import yuan


class ActionOfferHardshipOptions(KuanxinAction):
    def name(self) -> str:
        return "action_offer_hardship_options"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        if not plans.overdue_loans(borrower, self.today()):
            dispatcher.utter_message(text="理解您的难处。您目前没有逾期,如果预计下一期还款有困难,"
                                          "建议在还款日前联系我们提前协商。", buttons=[HUMAN_BUTTON])
            return []
        kinds = open_kinds(borrower, self.today(), self.policy())
        choices = "\n".join(f"{i}. {OPTION_WORDS[kind]}" for i, kind in enumerate(kinds, 1))
        dispatcher.utter_message(
            text=f"遇到困难不是您的错,谢谢您愿意主动沟通。按您账户目前的情况,可以选择:\n{choices}\n"
                 f"申请时如果能提供失业证明、医疗记录或收入证明等材料,会更容易通过审核。",
            buttons=[OPTION_BUTTONS[kind] for kind in kinds])
        return []


class ActionRequestWaiver(KuanxinAction):
    def name(self) -> str:
        return "action_request_waiver"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        loans = [loan for loan in plans.overdue_loans(borrower, self.today()) if loan.status == "active"]
        reason = trigger_text(tracker, "request_penalty_waiver")
        lines = []
        for loan in loans:
            result = plans.submit_waiver(accounts(), borrower, loan, reason, tracker.sender_id,
                                         self.today(), self.now())
            if result.request:
                statement = result.quote.statement
                state = "已提交" if result.created else "已在审核中"
                lines.append(f"· {loan_title(loan)}:{state},编号{result.request.reference}"
                             f"(罚息{yuan(statement.penalty)},违约金{yuan(statement.late_fees)})")
        if not lines:
            dispatcher.utter_message(text="您目前没有可以申请减免的罚息或违约金。", buttons=[HUMAN_BUTTON])
            return []
        dispatcher.utter_message(
            text="减免罚息需要工作人员审核,我不能直接批准;本金不能减免。已为您登记减免申请:\n" + "\n".join(lines) +
                 f"\n审核一般在{self.policy().review_decision_time}完成,可以随时问我「申请进度」。"
                 f"准备好困难证明材料(如失业证明、医疗记录)会有帮助。")
        return []
