"""The loan's own facts (ask_loan_facts) and what settling it today costs (ask_settlement).

Thin: read what was asked, compute with kuanxin.lending.loan_facts, word it with actions.loan_render.
"还清/结清/一次性还完" asks for the settlement figure, "逾期多少" for the overdue one; a question
with neither cue ("我还要还多少") gets both, each labelled.
"""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import loan_render
from actions.agreements import plan_lines
from actions.base import KuanxinAction, latest_intent, latest_text, the_borrower, user_messages
from actions.loan_choice import loan_in_text
from actions.requests_common import repay_button
from actions.texts import text_for
from kuanxin.lending.loan_facts import LoanFacts, loan_facts
from kuanxin.store.models import Borrower


def cues(*words: str, flags: int = 0) -> re.Pattern:
    return re.compile("|".join(words), flags)


# --- what an amount question is about
# the overdue part itself, even with 还清 in the sentence ("逾期的部分还清要多少")
OVERDUE_PART = cues("逾期的", "逾期部分", "逾期那", "逾期金额", "逾期多少", "逾期了多少", "逾期款", "欠的那几期",
                    "这几期", "没还的那")
SETTLE_CUE = cues("还清", "结清", "一次性", "一次还", "一起还", "全部还", "全还", "都还了", "还完", "还干净", "提前还",
                  "提前结", "清账", "了结", "全额", "一把还", "剩下的全", "剩下的都", "剩余的全", "连本带息", "彻底还",
                  "全部本金", "所有欠款一次", "销户", "清掉")
OVERDUE_CUE = cues("逾期", "逾其", "yq", "欠款", "拖欠", "罚息", "违约金", "滞纳金", "账单", "帐单", "这期", "本期",
                   "这个月", "上个月", "上期", "没还上", "补上", "补缴", flags=re.IGNORECASE)
AMOUNT_QUESTION = cues("多少", "几", "金额", "算一下", "算算", "数额", "总额", "总共", "一共")

# the same cues in English ("how much to pay it all off", "how much is overdue")
OVERDUE_PART = cues(OVERDUE_PART.pattern, r"\b(?:overdue (?:part|amount|bit)|the (?:missed|late) (?:ones|payments))\b",
                    flags=re.I)
SETTLE_CUE = cues(SETTLE_CUE.pattern, r"\b(?:pay (?:it |everything |the whole (?:loan |thing )?|the rest )?(?:all )?off"
                  r"|payoff"
                  r"|settle\w*|settlement|clear (?:the )?(?:whole|entire|full)|close (?:the |my )?(?:loan|account)"
                  r"|early repayment|repay (?:it )?early|in full|all at once|whole loan|pay everything)\b", flags=re.I)
OVERDUE_CUE = cues(OVERDUE_CUE.pattern, r"\b(?:overdue|arrears|late|behind|missed|past due)\b", flags=re.I)
AMOUNT_QUESTION = cues(AMOUNT_QUESTION.pattern, r"\b(?:how much|amount|total|what do i owe)\b", flags=re.I)

# --- which facts a loan question names (none: the whole fact sheet)
NOT_PAID_YET = "(?<![了剩有下完还])"  # "分几期" is the term; "还了几期" / "剩几期" are the progress
TOPIC_CUES = {
    "amount": cues("借了多少", "借的多少", "借多少", "借款金额", "贷了多少", "贷款金额", "合同金额", "本金是多少",
                   "当初借", "原来借", "总共借", "一共借", "借了几", "额度"),
    "rate": cues("年化", "利率", "费率", "年息", "月息", "日息", "几个点", "几厘", "几分息", "(?<!罚)利息", "apr",
                 flags=re.IGNORECASE),
    "term": cues(NOT_PAID_YET + "几期", NOT_PAID_YET + "多少期", "分了几期", "分了多少期", "期数", "期限",
                  "借多久", "借了多久", "多长时间",
                 "几个月", "几年", "到期", "最后一期", "哪年还完", "什么时候还完"),
    "progress": cues("还了几期", "还了多少期", "已还", "还剩几期", "剩几期", "还有几期", "剩余期数", "剩下几期",
                     "还完几期", "第几期", "没还几期", "进度"),
    "next_due": cues("下期", "下一期", "下个月还", "下次", "下回", "最近一期", "还款日", "几号还", "哪天还",
                     "什么时候还(?!完)", "每月还多少", "每期还多少", "月供"),
    "charges": cues("罚息", "违约金", "滞纳金", "怎么算", "咋算", "如何计算", "怎么计算", "怎么来的", "算出来", "算法"),
}


# English names of the same topics, added to the Chinese cues above
ENGLISH_TOPIC_CUES = {
    "amount": r"\b(?:how much did i borrow|loan amount|amount borrowed|original (?:loan|amount)|borrowed how much)\b",
    "rate": r"\b(?:interest rate|annual rate|apr|rate)\b",
    "term": r"\b(?:loan term|term|how many months|how long is (?:my|the) loan|when does (?:my|the) loan end"
            r"|last installment)\b",
    "progress": r"\b(?:how many (?:installments|payments|periods) (?:are |do i have )?left|have i (?:made|paid)"
                r"|progress)\b",
    "next_due": r"\b(?:next (?:payment|installment|due)|due date|monthly payment|when is (?:my|the) next)\b",
    "charges": r"\b(?:how (?:is|are|did you) .{0,30}calculat\w*|penalty|late fees?)\b",
}
TOPIC_CUES = {topic: cues(pattern.pattern, ENGLISH_TOPIC_CUES[topic], flags=re.I)
              for topic, pattern in TOPIC_CUES.items()}


def question_kind(text: str) -> str:
    """settlement, overdue, ambiguous (asks an amount with neither cue) or other."""
    if OVERDUE_PART.search(text):
        return "overdue"
    if SETTLE_CUE.search(text):
        return "settlement"
    if OVERDUE_CUE.search(text):
        return "overdue"
    return "ambiguous" if AMOUNT_QUESTION.search(text) else "other"


def topics_in(text: str) -> tuple[str, ...]:
    return tuple(topic for topic in loan_render.TOPICS if TOPIC_CUES[topic].search(text))


def question_text(tracker: Tracker, intent: str) -> str:
    """What the borrower asked: this message, or, when the answer follows an identity check, the question before it."""
    if latest_intent(tracker) == intent:
        return latest_text(tracker)
    return next((text for text, said in user_messages(tracker) if said == intent), "")


def facts_of(borrower: Borrower, text: str, today, policy) -> list[LoanFacts]:
    """The loan the question names (by id, product or 第N笔), otherwise every loan, the open ones first."""
    named = loan_in_text(list(borrower.loans), text)
    loans = [named] if named else list(borrower.loans)
    facts = [loan_facts(loan, today, policy.settlement) for loan in loans]
    return sorted(facts, key=lambda f: f.settled)


def settlement_addendum(tracker: Tracker, borrower: Borrower, intent: str, today, policy) -> str | None:
    """For the overdue answer: the settlement figure too, when the question did not ask for the overdue one alone."""
    text = question_text(tracker, intent)
    kind = question_kind(text)
    if kind not in ("settlement", "ambiguous"):
        return None
    facts = facts_of(borrower, text, today, policy)
    say = _text(tracker)
    if kind == "settlement":
        return loan_render.settlement_text(say, facts, today, policy.lender.hotline)
    return loan_render.both_text(say, facts, today, outro=False)  # the overdue details are just above


def _text(tracker: Tracker):
    return lambda key, **values: text_for(tracker, key, **values)


class ActionLoanFacts(KuanxinAction):
    def name(self) -> str:
        return "action_loan_facts"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        text = question_text(tracker, "ask_loan_facts")
        facts = facts_of(borrower, text, self.today(), self.policy())
        dispatcher.utter_message(text=loan_render.facts_text(_text(tracker), facts, topics_in(text), self.today()))
        return []


class ActionSettlement(KuanxinAction):
    def name(self) -> str:
        return "action_settlement"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = the_borrower(tracker)
        text = question_text(tracker, "ask_settlement")
        policy, today = self.policy(), self.today()
        facts = facts_of(borrower, text, today, policy)
        told: list[str] = []
        if question_kind(text) == "settlement":
            reply = loan_render.settlement_text(_text(tracker), facts, today, policy.lender.hotline)
        else:
            # "我还要还多少": a loan with a plan in force is told as its plan (the next payment, its date, what is
            # left); settling it all today is still asked with 结清
            told, held = plan_lines(tracker, borrower, today, policy)
            facts = [f for f in facts if f.loan_id not in held]
            rest = [loan_render.both_text(_text(tracker), facts, today)] if facts and (
                not told or any(not f.settled for f in facts)) else []
            reply = "\n\n".join([*told, *rest])
        buttons = [repay_button(tracker)] if told or any(not f.settled for f in facts) else []
        dispatcher.utter_message(text=reply, buttons=buttons)
        return []
