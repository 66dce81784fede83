"""Pieces the deferral, installment and waiver conversations share."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, verified_borrower
from actions.loan_choice import choose_loan
from actions.render import failures_text, loan_title
from actions.texts import say
from kuanxin import plans
from kuanxin.eligibility import RuleFailure
from kuanxin.models import Borrower, Loan

REQUEST_SLOTS = ("loan_id", "deferral_months", "deferral_reason", "installment_periods", "promise_date",
                 "promise_amount", "confirm_request", "request_blocked", "form_reask")
OPTION_BUTTONS = {
    "deferral": {"title": "申请延期还款", "payload": "/request_deferral"},
    "installment": {"title": "申请分期还款", "payload": "/request_installment"},
    "waiver": {"title": "申请减免罚息", "payload": "/request_penalty_waiver"},
    "human": {"title": "转人工客服", "payload": "/request_human"},
}
OPTION_WORDS = {
    "deferral": "延期还款(推迟逾期部分的还款日)",
    "installment": "分期还款(把逾期总额分成几个月还)",
    "waiver": "申请减免罚息(由工作人员审核)",
    "human": "转人工客服,和工作人员详细沟通",
}
HUMAN_BUTTON = OPTION_BUTTONS["human"]
CONFIRM_BUTTONS = [{"title": "确认提交", "payload": "/affirm"}, {"title": "取消", "payload": "/deny"}]


def reset_request_slots() -> list[SlotSet]:
    """Submit actions end by clearing what the request collected, so the next one starts clean."""
    return [SlotSet(slot, None) for slot in REQUEST_SLOTS]


def loan_slots(kind: str, borrower: Borrower, loan_id: str | None, text: str, today,
               policy) -> tuple[dict, Loan | None]:
    """Slots for the loan a request is about, and the loan when the request can go on.

    request_blocked is set when nothing is overdue or a rule already refuses this loan; the
    submit action then explains why and what else is open.
    """
    loan = plans.find_loan(borrower, loan_id) or choose_loan(borrower, text, today)
    if loan is None:
        return ({} if plans.overdue_loans(borrower, today) else {"request_blocked": True}), None
    if not plans.precheck(kind, borrower, loan, today, policy).eligible:
        return {"loan_id": loan.id, "request_blocked": True}, None
    return {"loan_id": loan.id}, loan


def open_kinds(borrower: Borrower, today, policy, exclude: str = "") -> list[str]:
    """What the borrower can apply for now (each kind once), then a person, who is always open."""
    kinds = []
    for kind, _loan in plans.open_options(borrower, today, policy):
        if kind != exclude and kind not in kinds:
            kinds.append(kind)
    return [*kinds, "human"]


def other_options(borrower: Borrower, today, policy, exclude: str = "") -> list[dict]:
    return [OPTION_BUTTONS[kind] for kind in open_kinds(borrower, today, policy, exclude)]


def say_refusal(dispatcher: CollectingDispatcher, what: str, failures: tuple[RuleFailure, ...],
                borrower: Borrower, today, policy, kind: str) -> None:
    buttons = other_options(borrower, today, policy, exclude=kind)
    alternatives = "、".join(b["title"] for b in buttons)
    dispatcher.utter_message(
        text=f"抱歉,这次{what}不符合条件:{failures_text(failures)}。\n您还可以选择:{alternatives}。",
        buttons=buttons)


class SubmitPlanAction(KuanxinAction):
    """Ends a deferral or installment form: explains a refusal, cancels, or records the request."""

    kind: str  # deferral | installment
    label: str  # 延期 | 分期

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        loan = plans.find_loan(borrower, tracker.get_slot("loan_id")) if borrower else None
        what = f"{loan_title(loan)}的{self.label}申请" if loan else ""
        if loan is None:
            dispatcher.utter_message(text=f"您目前没有可以申请{self.label}的逾期借款。")
        elif tracker.get_slot("request_blocked"):
            decision = plans.precheck(self.kind, borrower, loan, self.today(), self.policy())
            say_refusal(dispatcher, what, decision.failures, borrower, self.today(), self.policy(), self.kind)
        elif not tracker.get_slot("confirm_request"):
            dispatcher.utter_message(response="utter_request_cancelled")
        else:
            result = self.submit(tracker, borrower, loan)
            if result.request is None:
                say_refusal(dispatcher, what, result.quote.decision.failures, borrower, self.today(),
                            self.policy(), self.kind)
            else:
                key = "request.changed" if result.changed else "request.submitted"
                say(dispatcher, tracker, key, label=self.label, reference=result.request.reference,
                    decision_time=self.policy().review_decision_time)
        return reset_request_slots()

    @abstractmethod
    def submit(self, tracker: Tracker, borrower: Borrower, loan: Loan) -> plans.Submission:
        ...
