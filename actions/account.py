"""What the borrower owes, what happens if it stays unpaid, and where their requests stand."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KuanxinAction, accounts, verified_borrower
from actions.loan_facts import settlement_addendum
from actions.render import overdue_summary, percent, promise_line, request_line, short_date
from actions.requests_common import other_options
from kuanxin import plans
from kuanxin.money import yuan
from kuanxin.overdue import LoanStatement

REPAY_BUTTON = {"title": "怎么还款", "payload": "/ask_repayment_methods"}


class ActionShowOverdue(KuanxinAction):
    def name(self) -> str:
        return "action_show_overdue"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        statements = plans.statements(borrower, self.today())
        buttons = []
        if any(s.is_overdue for s in statements):
            buttons = [REPAY_BUTTON, *other_options(borrower, self.today(), self.policy())]
        summary = overdue_summary(statements, self.today())
        # "我还要还多少" / "还清要多少": the settlement figure too, labelled (actions/loan_facts.py)
        addendum = settlement_addendum(tracker, borrower, "check_overdue", self.today(), self.policy())
        dispatcher.utter_message(text=f"{summary}\n\n{addendum}" if addendum else summary, buttons=buttons)
        return []


GENERAL_CONSEQUENCES = """逾期后可能产生的影响,如实告诉您:
1. 费用增加:逾期部分会按合同计收罚息,每期逾期还会收取一次违约金。
2. 征信记录:逾期信息会依法报送金融信用信息基础数据库(报送前会通知您本人),影响之后办理贷款、信用卡。\
不良记录自还清之日起保留5年后删除。
3. 还款提醒:我们会通过电话、短信等方式联系您本人提醒还款,只在合规时间内联系,不会向您的亲友透露欠款。
4. 法律途径:长期逾期又不协商还款的,贷款机构可能依法起诉。
尽早还款或主动协商(延期、分期)都能减少这些影响。核实身份后,我可以结合您的账户具体说明。"""


def stage_text(statement: LoanStatement, hotline: str) -> str:
    """The consequences for one overdue loan, at its stage of arrears; factual, never a threat."""
    lines = [
        f"借款{statement.loan_id}已逾期{statement.days_overdue}天,目前应还{yuan(statement.total)}:",
        f"· 费用:罚息按未还本金每天{percent(statement.penalty_daily_rate)}计,现在每天增加约"
        f"{yuan(statement.daily_penalty_growth)};之后每多逾期一期,还会多收一次违约金。",
        "· 征信:逾期信息会按规定报送征信系统(报送前会通知您),不良记录自还清之日起保留5年。越早还清,记录停止得越早。",
    ]
    if statement.status == "litigation":
        lines.append(f"· 法律程序:这笔借款已进入诉讼程序,请留意法院的通知;仍然可以和我们协商还款,可拨打{hotline}。")
    elif statement.days_overdue > 90:
        lines.append("· 法律途径:逾期已超过90天,如果一直不还也不协商,可能会被依法起诉。现在协商还来得及。")
    else:
        lines.append("· 联系:我们会在合规时间内联系您本人提醒还款,不会联系您的亲友透露欠款。")
    return "\n".join(lines)


class ActionExplainConsequences(KuanxinAction):
    def name(self) -> str:
        return "action_explain_consequences"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        if borrower is None:
            dispatcher.utter_message(text=GENERAL_CONSEQUENCES)
            return []
        overdue = [s for s in plans.statements(borrower, self.today()) if s.is_overdue]
        if not overdue:
            dispatcher.utter_message(text="您目前没有逾期,不会产生罚息或不良征信记录。请按时还款,保持良好记录。")
            return []
        hotline = self.policy().lender.hotline
        text = "\n\n".join(stage_text(s, hotline) for s in overdue)
        dispatcher.utter_message(text=f"{text}\n\n尽早还款或主动协商,都能减少这些影响。",
                                 buttons=other_options(borrower, self.today(), self.policy()))
        return []


class ActionCheckRequestStatus(KuanxinAction):
    def name(self) -> str:
        return "action_check_request_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        requests = accounts().requests_of(borrower.id)
        promises = accounts().promises_of(borrower.id)
        if not requests and not promises:
            dispatcher.utter_message(text="您目前没有提交过延期、分期或减免申请,也没有登记还款承诺。")
            return []
        parts = []
        if requests:
            parts.append("您的申请:\n" + "\n".join(request_line(r) for r in requests))
        if promises:
            parts.append("您登记的还款承诺:\n" + "\n".join(promise_line(p) for p in promises))
        parts.append(f"(查询时间:{short_date(self.today())})")
        dispatcher.utter_message(text="\n\n".join(parts))
        return []
