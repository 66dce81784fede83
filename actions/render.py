"""Chinese wording of what the domain package computes. No numbers are computed here."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from kuanxin.casework import REQUEST_KINDS
from kuanxin.eligibility import PlanItem, RuleFailure
from kuanxin.models import Loan, PaymentPromise, ServiceRequest
from kuanxin.money import ZERO, yuan
from kuanxin.overdue import LoanStatement
from kuanxin.zh_format import short_date

WEEKDAYS = "一二三四五六日"
REQUEST_STATUS = {"pending": "审核中", "approved": "已通过", "rejected": "未通过", "cancelled": "已取消"}


def date_cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日(星期{WEEKDAYS[day.weekday()]})"


def percent(rate) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def loan_title(loan: Loan | LoanStatement) -> str:
    loan_id = getattr(loan, "loan_id", None) or loan.id
    return f"借款{loan_id}({loan.product})"


def statement_text(statement: LoanStatement) -> str:
    title = f"【{loan_title(statement)}】"
    if statement.status == "settled":
        return f"{title}已结清,没有欠款。"
    if not statement.is_overdue:
        if statement.next_due:
            due = statement.next_due
            return (f"{title}目前没有逾期。下一期(第{due.period}期)还款日是{date_cn(due.due_date)},"
                    f"应还{yuan(due.amount)}。")
        return f"{title}目前没有逾期,也没有待还的期数。"
    lines = [
        f"{title}已逾期{statement.days_overdue}天(最早一期应还日{short_date(statement.earliest_overdue_date)},"
        f"共{len(statement.rows)}期未还清)",
        f"· 未还本金:{yuan(statement.unpaid_principal)}",
        f"· 未还利息:{yuan(statement.unpaid_interest)}",
        f"· 罚息:{yuan(statement.penalty)}(按未还本金每天{percent(statement.penalty_daily_rate)}计,"
        f"目前每天增加约{yuan(statement.daily_penalty_growth)})",
        f"· 违约金:{yuan(statement.late_fees)}(每期逾期收取一次)",
        f"· 合计应还:{yuan(statement.total)}",
    ]
    if statement.status == "litigation":
        lines.append("· 这笔借款已进入诉讼程序,具体以法院文书为准。")
    return "\n".join(lines)


def overdue_summary(statements: Iterable[LoanStatement], today: dt.date) -> str:
    statements = list(statements)
    if not statements:
        return "您名下目前没有借款记录。"
    parts = [f"截至{short_date(today)},您名下借款情况如下:"]
    parts += [statement_text(s) for s in statements]
    overdue = [s for s in statements if s.is_overdue]
    if len(overdue) > 1:
        parts.append(f"逾期合计:{yuan(sum((s.total for s in overdue), ZERO))}")
    return "\n\n".join(parts)


def failures_text(failures: Iterable[RuleFailure]) -> str:
    return ";".join(f.explanation for f in failures)


def plan_table(plan: list[PlanItem]) -> str:
    rows = [f"第{item.number}期 {short_date(item.due_date)} {yuan(item.amount)}" for item in plan]
    return "\n".join(rows)


def request_line(request: ServiceRequest) -> str:
    kind = REQUEST_KINDS.get(request.type, request.type)
    detail = ""
    if request.type == "deferral" and request.months:
        detail = f",延期{request.months}个月"
    elif request.type == "installment" and request.periods:
        detail = f",分{request.periods}期"
    decided = f"(说明:{request.decision_reason})" if request.decision_reason else ""
    return (f"· {request.reference or '—'} {kind}{detail},借款{request.loan_id},{short_date(request.created_on)}提交,"
            f"状态:{REQUEST_STATUS.get(request.status, request.status)}{decided}")


def promise_line(promise: PaymentPromise) -> str:
    status = {"open": "待还款", "kept": "已按时还款", "broken": "未按约还款"}.get(promise.status, promise.status)
    return f"· {promise.reference} 承诺{short_date(promise.promised_date)}还款{yuan(promise.amount)},状态:{status}"
