"""Deferral, installment and penalty-waiver requests: quote against the policy, then record for staff, or, inside
the policy's envelope (kuanxin/lending/decisions.py), offer the plan as a written agreement the assistant approves.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kuanxin.core.policy import Policy
from kuanxin.lending import agreement, decisions, eligibility, replan
from kuanxin.lending.agreement import AgreementDraft, Parties, Replaced
from kuanxin.lending.decisions import History, PlanDecision
from kuanxin.lending.eligibility import Decision, PlanItem, RuleFailure
from kuanxin.lending.overdue import LoanStatement, loan_statement
from kuanxin.lending.plan_terms import PlanFee, PlanTerms, terms
from kuanxin.lending.replan import PlanInForce

if TYPE_CHECKING:  # records are handed in; this layer never reads or writes the store
    from kuanxin.store.accounts import Accounts
    from kuanxin.store.models import Borrower, Loan, ServiceRequest


@dataclass(frozen=True)
class Quote:
    kind: str
    loan: Loan
    statement: LoanStatement
    decision: Decision
    new_due_date: dt.date | None = None
    plan: list[PlanItem] = field(default_factory=list)  # what the borrower would pay, fees included
    terms: PlanTerms | None = None  # an installment's total, cost and annualised rate
    replan: PlanInForce | None = None  # the plan in force on the loan, which a new plan would replace

    @property
    def owed(self) -> Decimal:
        """What the plan asked for would settle: what the plan in force leaves unpaid, else today's arrears."""
        return self.replan.remaining if self.replan is not None else self.statement.total

    def due_date_after(self) -> dt.date:
        """A deferral's new due date; only an eligible deferral quote has one to show."""
        if self.new_due_date is None:
            raise ValueError(f"a {self.kind} quote for {self.loan.id} has no new due date")
        return self.new_due_date


@dataclass(frozen=True)
class Submission:
    quote: Quote
    request: ServiceRequest | None = None
    created: bool = False
    changed: bool = False  # an earlier pending request of this kind now has the new terms


def pending_request(borrower: Borrower, loan: Loan, kind: str) -> ServiceRequest | None:
    """The borrower's request of this kind on the loan still waiting for staff: a new one changes it."""
    return next((r for r in borrower.requests if r.type == kind and r.loan_id == loan.id and r.status == "pending"),
                None)


def _requests_besides_pending(borrower: Borrower, loan: Loan, kind: str) -> list[ServiceRequest]:
    pending = pending_request(borrower, loan, kind)
    return [r for r in borrower.requests if r is not pending]


def statements(borrower: Borrower, today: dt.date) -> list[LoanStatement]:
    return [loan_statement(loan, today) for loan in borrower.loans]


def overdue_loans(borrower: Borrower, today: dt.date) -> list[Loan]:
    """Loans a plan could be asked for: not settled and with something overdue."""
    return [loan for loan in borrower.loans
            if loan.status != "settled" and loan_statement(loan, today).is_overdue]


def find_loan(borrower: Borrower, loan_id: str | None) -> Loan | None:
    return next((loan for loan in borrower.loans if loan.id == loan_id), None)


def loan_of(borrower: Borrower, loan_id: str | None) -> Loan:
    """The borrower's loan a form chose; a form never asks to confirm a loan it did not find."""
    loan = find_loan(borrower, loan_id)
    if loan is None:
        raise LookupError(f"borrower {borrower.id} has no loan {loan_id!r}")
    return loan


def default_loan(borrower: Borrower, today: dt.date) -> Loan | None:
    """The loan a request is about when the borrower has only one that could be meant."""
    candidates = overdue_loans(borrower, today)
    return candidates[0] if len(candidates) == 1 else None


def quote_deferral(borrower: Borrower, loan: Loan, months: int | None, reason: str | None,
                   today: dt.date, policy: Policy, in_force: PlanInForce | None = None) -> Quote:
    """`in_force`: the plan in force on the loan (a deferral in its place is for staff to decide)."""
    statement = loan_statement(loan, today)
    decision = eligibility.check_deferral(loan, statement, _requests_besides_pending(borrower, loan, "deferral"),
                                          months, reason, today, policy.deferral)
    # eligible means months were given and are allowed
    new_due = eligibility.deferred_due_date(statement, months) if decision.eligible and months is not None else None
    return Quote("deferral", loan, statement, decision, new_due_date=new_due, replan=in_force)


def quote_installment(borrower: Borrower, loan: Loan, periods: int | None, today: dt.date,
                      policy: Policy, in_force: PlanInForce | None = None) -> Quote:
    """`in_force`: the plan in force on the loan; the new plan then splits what it leaves unpaid (a re-plan)."""
    statement = loan_statement(loan, today)
    if in_force is not None:
        decision = eligibility.Decision((*eligibility.replan_precheck(loan, in_force.remaining,
                                                                      policy.installment).failures,
                                         *filter(None, [eligibility.periods_allowed(periods, policy.installment)])))
    else:
        decision = eligibility.check_installment(
            loan, statement, _requests_besides_pending(borrower, loan, "installment"), periods, policy.installment)
    if not decision.eligible or periods is None:  # eligible means periods were given
        return Quote("installment", loan, statement, decision, replan=in_force)
    owed = in_force.remaining if in_force is not None else statement.total
    fee = PlanFee(policy.installment.fee_per_period, policy.installment.fee_once)
    plan_terms = terms(owed, eligibility.installment_plan(owed, periods, today), fee)
    return Quote("installment", loan, statement, decision, plan=list(plan_terms.payments), terms=plan_terms,
                 replan=in_force)


def fee_free(policy: Policy) -> bool:
    return policy.installment.fee_per_period == 0 and policy.installment.fee_once == 0


def precheck(kind: str, borrower: Borrower, loan: Loan, today: dt.date, policy: Policy,
             statement: LoanStatement | None = None, in_force: PlanInForce | None = None) -> Decision:
    """The rules that can fail before the borrower says how many months or periods (`in_force`: the plan in force
    on the loan, which a new installment plan would replace)."""
    if kind == "installment" and in_force is not None:
        return eligibility.replan_precheck(loan, in_force.remaining, policy.installment)
    statement = statement or loan_statement(loan, today)
    requests = _requests_besides_pending(borrower, loan, kind)
    if kind == "deferral":
        return eligibility.deferral_precheck(loan, statement, requests, today, policy.deferral)
    return eligibility.installment_precheck(loan, statement, requests, policy.installment)


def deferral_month_choices(loan: Loan, today: dt.date, policy: Policy) -> list[int]:
    """The deferral lengths that would pass today: within the policy and ending after today."""
    statement = loan_statement(loan, today)
    return [m for m in range(policy.deferral.min_months, policy.deferral.max_months + 1)
            if eligibility.new_date_ahead(statement, m, today) is None]


def installment_period_choices(policy: Policy) -> list[int]:
    """The numbers of periods the policy allows (each passes once the loan itself is eligible)."""
    return list(policy.installment.allowed_periods)


def open_options(borrower: Borrower, today: dt.date, policy: Policy) -> list[tuple[str, Loan]]:
    """What this borrower could apply for now: (deferral | installment | waiver, loan) pairs."""
    options: list[tuple[str, Loan]] = []
    for loan in overdue_loans(borrower, today):
        statement = loan_statement(loan, today)
        for kind in ("deferral", "installment"):  # one already pending is changed on request, not offered again
            if pending_request(borrower, loan, kind) is None and precheck(kind, borrower, loan, today, policy,
                                                                          statement).eligible:
                options.append((kind, loan))
        if loan.status == "active" and statement.penalty > 0 and not _pending_waiver(borrower, loan):
            options.append(("waiver", loan))
    return options


def _pending_waiver(borrower: Borrower, loan: Loan) -> bool:
    return any(r.type == "waiver" and r.loan_id == loan.id and r.status == "pending" for r in borrower.requests)


def submit_deferral(accounts: Accounts, borrower: Borrower, loan: Loan, months: int, reason: str,
                    conversation_id: str, today: dt.date, now: dt.datetime, policy: Policy,
                    in_force: PlanInForce | None = None) -> Submission:
    quote = quote_deferral(borrower, loan, months, reason, today, policy, in_force)
    if not quote.decision.eligible or quote.new_due_date is None:
        return Submission(quote)
    terms = dict(months=months, reason=reason.strip()[:500],
                 details={"new_due_date": quote.new_due_date.isoformat(), "amount": str(quote.statement.total)})
    return _record(accounts, borrower, loan, quote, conversation_id, today, now, terms)


def submit_installment(accounts: Accounts, borrower: Borrower, loan: Loan, periods: int,
                       conversation_id: str, today: dt.date, now: dt.datetime, policy: Policy,
                       in_force: PlanInForce | None = None) -> Submission:
    quote = quote_installment(borrower, loan, periods, today, policy, in_force)
    if not quote.decision.eligible:
        return Submission(quote)
    details: dict[str, Any] = {
        "total": str(quote.owed),
        "plan": [{"n": i.number, "due": i.due_date.isoformat(), "amount": str(i.amount)} for i in quote.plan]}
    if in_force is not None:  # staff see which plan it would replace
        details["replaces"] = in_force.agreement_number
    terms = dict(periods=periods, details=details)
    return _record(accounts, borrower, loan, quote, conversation_id, today, now, terms)


def _record(accounts: Accounts, borrower: Borrower, loan: Loan, quote: Quote, conversation_id: str,
            today: dt.date, now: dt.datetime, terms: dict[str, Any]) -> Submission:
    """A new pending request, or the borrower's pending one of the same kind changed to these terms."""
    pending = pending_request(borrower, loan, quote.kind)
    if pending is not None:
        request, changed = accounts.change_pending_request(pending.id, conversation_id=conversation_id, now=now,
                                                           **terms)
        return Submission(quote, request, created=False, changed=changed)
    request, created = accounts.submit_request(borrower_id=borrower.id, loan_id=loan.id, kind=quote.kind,
                                               conversation_id=conversation_id, today=today, now=now, **terms)
    return Submission(quote, request, created)


@dataclass(frozen=True)
class WaiverScope:
    """What a penalty-waiver request would concern, shown to the borrower before anything is filed."""

    to_file: list[tuple[Loan, LoanStatement]]  # active overdue loans with penalty or late fees and no waiver pending
    pending: list[tuple[Loan, LoanStatement, ServiceRequest]]  # loans whose waiver staff are already reviewing


def waiver_scope(borrower: Borrower, today: dt.date) -> WaiverScope:
    """The loans a waiver request would be filed for now, and those with one already pending (reported, never
    filed twice). Only active loans: a loan with staff or in a plan is not waived by the assistant."""
    to_file: list[tuple[Loan, LoanStatement]] = []
    pending: list[tuple[Loan, LoanStatement, ServiceRequest]] = []
    for loan in overdue_loans(borrower, today):
        if loan.status != "active":
            continue
        statement = loan_statement(loan, today)
        already = pending_request(borrower, loan, "waiver")
        if already is not None:
            pending.append((loan, statement, already))
        elif statement.penalty > 0 or statement.late_fees > 0:
            to_file.append((loan, statement))
    return WaiverScope(to_file, pending)


def submit_waiver(accounts: Accounts, borrower: Borrower, loan: Loan, reason: str | None,
                  conversation_id: str, today: dt.date, now: dt.datetime) -> Submission:
    """A penalty-waiver request is always only recorded: staff decide, and principal is never waived."""
    statement = loan_statement(loan, today)
    failures = () if statement.penalty > 0 or statement.late_fees > 0 else (
        RuleFailure("nothing_to_waive", "eligibility.waiver.nothing", {"loan_id": loan.id}),)
    quote = Quote("waiver", loan, statement, Decision(failures))
    if failures:
        return Submission(quote)
    request, created = accounts.submit_request(
        borrower_id=borrower.id, loan_id=loan.id, kind="waiver", conversation_id=conversation_id,
        today=today, now=now, reason=(reason or "").strip()[:500] or None,
        details={"penalty": str(statement.penalty), "late_fees": str(statement.late_fees)},
    )
    return Submission(quote, request, created)


def installment_decision(quote: Quote, periods: int, history: History, today: dt.date,
                         policy: Policy) -> PlanDecision:
    """Who approves this installment plan: the assistant, inside the policy's envelope (or, in place of a plan in
    force, its re-plan rules), or staff."""
    envelope = policy.envelopes.get("installment")
    if quote.replan is not None and quote.plan:
        return replan.decide_replan("installment", quote.replan, periods, quote.plan[-1].due_date, history, envelope,
                                    policy.plans.replan, today)
    return decisions.decide("installment", quote.statement, periods, history, policy.envelopes.get("installment"),
                            today)


def installment_agreement(borrower: Borrower, quote: Quote, periods: int, today: dt.date, policy: Policy,
                          language: str) -> AgreementDraft:
    """The written agreement of an eligible installment quote, as the borrower will be shown it."""
    if quote.terms is None:
        raise ValueError(f"no plan to put in writing for {quote.loan.id}")
    parties = Parties(policy.lender.name, borrower.name, borrower.id_masked, quote.loan.id, quote.loan.product)
    fees = policy.installment
    if quote.replan is not None:
        progress = quote.replan.progress
        replaced = Replaced(quote.replan.agreement_number, progress.total, progress.paid,
                            quote.replan.ledger_from or today, quote.replan.ledger_counted)
        return agreement.replan_draft(parties, quote.statement, quote.terms, periods, replaced, fees.fee_per_period,
                                      fees.fee_once, policy.plans.grace_days, today, language)
    return agreement.installment_draft(parties, quote.statement, quote.terms, periods, fees.fee_per_period,
                                       fees.fee_once, policy.plans.grace_days, today, language)


def deferral_decision(quote: Quote, months: int, history: History, today: dt.date, policy: Policy) -> PlanDecision:
    """Who approves this deferral: the assistant, inside the policy's envelope, or staff (always, in place of a plan
    in force)."""
    if quote.replan is not None:
        return replan.decide_replan("deferral", quote.replan, months, today, history, policy.envelopes.get("deferral"),
                                    policy.plans.replan, today)
    return decisions.decide("deferral", quote.statement, months, history, policy.envelopes.get("deferral"), today)


def deferral_agreement(borrower: Borrower, quote: Quote, months: int, today: dt.date, policy: Policy,
                       language: str) -> AgreementDraft:
    """The written agreement of an eligible deferral quote."""
    parties = Parties(policy.lender.name, borrower.name, borrower.id_masked, quote.loan.id, quote.loan.product)
    return agreement.deferral_draft(parties, quote.statement, months, quote.due_date_after(),
                                    policy.plans.grace_days, today, language)
