"""Plans agreed in writing: the offer of an agreement (its whole text, and in the widget a card), the borrower's
explicit acceptance, the links to the agreement, a plan in force told as what is owed, and a person's review of an
automated refusal. The decisions and the text are kuanxin's (kuanxin/lending/decisions.py, agreement.py); storage is
kuanxin/store/agreements.py; this module only words and wires them."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import (
    KuanxinAction,
    accounts,
    activating,
    latest_intent,
    latest_text,
    verified_borrower,
)
from actions.render import Composed, loan_title, schedule_block
from actions.texts import language_of, say, text_for
from kuanxin.core import clock, links, settings
from kuanxin.core import policy as policies
from kuanxin.core.formats import Clauses, Day, Items, Money
from kuanxin.core.policy import Policy
from kuanxin.core.vocab import DecisionOutcome, PlanStatus
from kuanxin.lending import plans
from kuanxin.lending.agreement import AgreementDraft, payments_of
from kuanxin.lending.decisions import PlanDecision
from kuanxin.lending.replan import PlanInForce
from kuanxin.store.agreements import PlanBook
from kuanxin.store.models import Agreement, Borrower, Loan

_book: PlanBook | None = None
SHOWN = "agreement_sha"  # the slot holding the SHA-256 of the agreement last shown in full

# Only these words accept an agreement (the button sends the first); "好的", "行", "ok" do not.
ACCEPT = re.compile(r"^\s*(?:我同意|本人同意|我同意(?:该|这个|本)?协议|i agree)\s*[。.!!]?\s*$", re.I)


def book() -> PlanBook:
    global _book
    if _book is None:
        _book = PlanBook(accounts().db)
    return _book


def accepts(text: str) -> bool:
    return bool(ACCEPT.match(unicodedata.normalize("NFKC", text)))


def accept_buttons(tracker: Tracker) -> list[dict]:
    accept = text_for(tracker, "agreement.button.accept")
    return [{"title": accept, "payload": accept}, {"title": text_for(tracker, "button.cancel"), "payload": "/deny"}]


def review_button(tracker: Tracker) -> dict:
    return {"title": text_for(tracker, "review.button"), "payload": "/request_review"}


# --- the decision and its agreement ---------------------------------------------------------------------------
def plan_to_replace(loan: Loan, today: dt.date, policy: Policy) -> PlanInForce | None:
    """The plan in force on the loan: a new plan asked for now would replace it (policy.yml `plans.replan`)."""
    return book().in_force_on(loan.id, today, policy.plans.grace_days)


def offer(tracker: Tracker, kind: str, borrower: Borrower, loan: Loan, length: int, today: dt.date,
          policy: Policy) -> tuple[plans.Quote, PlanDecision, AgreementDraft | None]:
    """The quote of an installment (length: periods) or a deferral (months), who may approve it, and (when the
    assistant may) the agreement the borrower would accept."""
    history = book().history(borrower.id, loan.id, kind)
    language = language_of(tracker)
    in_force = plan_to_replace(loan, today, policy)
    if kind == "installment":
        quote = plans.quote_installment(borrower, loan, length, today, policy, in_force)
        decision = plans.installment_decision(quote, length, history, today, policy)
        make: Callable[..., AgreementDraft] = plans.installment_agreement
    else:
        reason = tracker.get_slot("deferral_reason")
        quote = plans.quote_deferral(borrower, loan, length, reason, today, policy, in_force)
        decision = plans.deferral_decision(quote, length, history, today, policy)
        make = plans.deferral_agreement
    draft = make(borrower, quote, length, today, policy, language) if decision.approved and quote.decision.eligible \
        else None
    return quote, decision, draft


def per_period_text(tracker: Tracker, borrower: Borrower | None, today: dt.date, policy: Policy) -> str:
    """"分期的话每期多少": for the verified borrower (verified_borrower), each choice's payment on their loan
    ('' before verification)."""
    loan = (plans.find_loan(borrower, tracker.get_slot("loan_id")) or plans.default_loan(borrower, today)
            if borrower is not None else None)
    if borrower is None or loan is None:
        return ""
    in_force = plan_to_replace(loan, today, policy)
    quotes = [plans.quote_installment(borrower, loan, periods, today, policy, in_force)
              for periods in plans.installment_period_choices(policy)]
    choices = [text_for(tracker, "installment.per_period.item", periods=len(q.plan), amount=Money(q.plan[0].amount))
               for q in quotes if q.plan]
    if not choices:
        return ""
    return text_for(tracker, "installment.per_period", loan=loan_title(loan, language_of(tracker)),
                    total=Money(quotes[0].owed), choices=Items(choices))


def installment_offer(tracker: Tracker, borrower: Borrower, loan: Loan, periods: int, today: dt.date,
                      policy: Policy) -> tuple[plans.Quote, PlanDecision, AgreementDraft | None]:
    return offer(tracker, "installment", borrower, loan, periods, today, policy)


def terms_card(tracker: Tracker, draft: AgreementDraft) -> dict[str, Any]:
    """The agreement's key terms as data the widget draws as a card (drawn like a table of amounts)."""
    values, language = draft.terms["values"], language_of(tracker)
    parties = [("lender", values["lender"]), ("borrower", f"{values['name']}({values['id_masked']})"),
               ("loan", text_for(tracker, "loan.name", loan_id=values["loan_id"], product=values["product"])),
               ("remaining" if values.get("supersedes") else "total", Money(Decimal(values["total"])))]
    if draft.kind == "installment":
        plan = [("periods", text_for(tracker, "agreement.card.periods.value", periods=values["periods"])),
                ("paid", Money(Decimal(values["paid"]))), ("cost", Money(Decimal(values["cost"]))),
                ("rate", f"{values['rate']}%")]
    else:
        plan = [("months", text_for(tracker, "agreement.card.months.value", months=values["months"])),
                ("new_date", Day(dt.date.fromisoformat(draft.terms["payments"][0]["due"]))),
                ("paid", Money(Decimal(values["paid"]))), ("rate", f"{values['rate']}%")]
    grace = [("grace", text_for(tracker, "agreement.card.grace.value", grace_days=values["grace_days"]))]
    shown = [{"label": text_for(tracker, f"agreement.card.{name}"),
              "shown": value.show(language) if isinstance(value, (Money, Day)) else str(value), "note": "",
              "total": name == "paid"} for name, value in [*parties, *plan, *grace]]
    label = text_for(tracker, f"request.label.{draft.kind}")
    return {"type": "terms", "title": text_for(tracker, "agreement.card.title", label=label), "rows": shown}


def offer_message(tracker: Tracker, draft: AgreementDraft) -> dict[str, Any]:
    """The whole agreement as text for every channel; in the widget its head is a card and its schedule a table."""
    before, after = draft.parts()
    schedule_text = draft.text[len(before):len(draft.text) - len(after)]
    language = language_of(tracker)
    return (Composed(separator="\n").add(before, terms_card(tracker, draft))
            .add(schedule_text, schedule_block(payments_of(draft.terms), language))
            .add(after).add("\n" + text_for(tracker, "agreement.offer.prompt")).message())


def agreement_links(agreement: Agreement, policy: Policy) -> dict[str, str]:
    """The page and the PDF of an agreement, signed for its borrower, valid for the policy's days."""
    expires = clock.now() + dt.timedelta(days=policy.plans.agreement_link_days)
    token = links.sign(settings.agreement_secret(), str(agreement.number), agreement.borrower_id, expires)
    base = f"{settings.public_web_url()}/agreements/{agreement.number}"
    return {"page": f"{base}?t={token}", "pdf": f"{base}.pdf?t={token}"}


# --- the form's confirmation and what follows it ----------------------------------------------------------------
class AgreementForm:
    """For a form validator whose request the assistant may approve: when the confirmation shown is an agreement,
    only 「我同意」 accepts it ("好的" is told so), leaving or no declines it, anything else is handled as always."""

    kind: str  # installment | deferral
    length_slot: str  # installment_periods | deferral_months
    confirm_slot: str
    declines: Callable[[Tracker], bool]  # FormValidator.declines: no or leaving, not a change of mind

    def how_decided(self, tracker: Tracker) -> str:
        """For the terms: what the assistant may approve on the spot (the policy's envelope), and that the rest goes
        to staff; a kind without an envelope is always reviewed."""
        policy = policies.current()
        decision_time = policy.words(language_of(tracker)).decision_time
        envelope = policy.envelopes.get(self.kind)
        if envelope is None:
            return text_for(tracker, "plan.decided.staff", decision_time=decision_time)
        return text_for(tracker, f"plan.decided.{self.kind}", days=envelope.max_days_overdue,
                        amount=Money(envelope.max_amount), length=envelope.max_length, decision_time=decision_time)

    def not_understood(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> None:
        """An agreement is answered with 「我同意」, not 「确认」: its own re-ask follows and says so."""
        if slot == self.confirm_slot and self.offered(tracker) is not None:
            say(dispatcher, tracker, "agreement.not_understood")
            return
        super().not_understood(dispatcher, tracker, slot)  # type: ignore[misc]

    def offered(self, tracker: Tracker) -> AgreementDraft | None:
        borrower = verified_borrower(tracker)
        loan = plans.find_loan(borrower, tracker.get_slot("loan_id")) if borrower else None
        length = tracker.get_slot(self.length_slot)
        if borrower is None or loan is None or not length:
            return None
        return offer(tracker, self.kind, borrower, loan, int(length), clock.today(), policies.current())[2]

    def confirmation(self, tracker: Tracker, requested: str | None) -> dict:
        """An agreement is accepted only by 「我同意」 (or its button); a request for staff takes any yes."""
        answer = self.agreement_confirmation(tracker, requested, activating(tracker))
        return super().confirmation(tracker, requested) if answer is None else answer  # type: ignore[misc]

    def agreement_confirmation(self, tracker: Tracker, requested: str | None, activating: bool) -> dict | None:
        """The slots an answer to an agreement fills; None when no agreement is being confirmed."""
        draft = None if requested != self.confirm_slot or activating else self.offered(tracker)
        if draft is None:
            return None
        if accepts(latest_text(tracker)):
            # only the text shown can be accepted: changed meanwhile (a payment came in), it is shown again
            return {self.confirm_slot: True} if draft.sha256 == tracker.get_slot(SHOWN) else {}
        if self.declines(tracker):  # "算了 还是延期吧" is a change of mind, not a no
            return {self.confirm_slot: False}
        return {}

    def not_acceptance(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str | None,
                       found: dict, confirmation: dict) -> None:
        if requested != self.confirm_slot or confirmation or self.length_slot in found:
            return
        draft = self.offered(tracker)
        if draft is None:
            return
        if accepts(latest_text(tracker)):  # accepted, but the text is no longer the one shown
            say(dispatcher, tracker, "agreement.changed")
        elif latest_intent(tracker) == "affirm":
            say(dispatcher, tracker, "agreement.offer.explicit")  # "好的" is not acceptance of an agreement


def ask_confirmation(dispatcher: CollectingDispatcher, tracker: Tracker, draft: AgreementDraft,
                     reask: bool) -> list[EventType]:
    """The agreement as the form's question: in full, or (after a digression, when it is still the text shown) in one
    short line. Remembers which text was shown in full: only that one can be accepted."""
    if reask and tracker.get_slot(SHOWN) == draft.sha256:
        first = draft.terms["payments"][0]
        say(dispatcher, tracker, "agreement.offer.short", label=text_for(tracker, f"request.label.{draft.kind}"),
            first=Money(Decimal(first["amount"])), first_day=Day(dt.date.fromisoformat(first["due"])),
            buttons=accept_buttons(tracker))
        return []
    else:
        message = offer_message(tracker, draft)
        if tracker.get_latest_input_channel() == "wechat":  # no card there: the agreement as a page too
            hours = policies.current().plans.draft_link_hours
            message["text"] += "\n" + text_for(tracker, "agreement.offer.link", page=draft_link(tracker, draft, hours),
                                               hours=hours)
        dispatcher.utter_message(**message, buttons=accept_buttons(tracker))
        record_offer(tracker, draft)
    return [SlotSet(SHOWN, draft.sha256)]


def record_offer(tracker: Tracker, draft: AgreementDraft) -> None:
    """What the report counts as a plan offered: this agreement's text, shown in full in this conversation."""
    values = draft.terms["values"]
    book().record_offer(borrower_id=str(tracker.get_slot("borrower_id")), loan_id=values["loan_id"], kind=draft.kind,
                        length=int(values["months"] if draft.kind == "deferral" else values["periods"]),
                        sha256=draft.sha256, conversation_id=tracker.sender_id, now=clock.now())


def draft_link(tracker: Tracker, draft: AgreementDraft, hours: int) -> str:
    """The agreement offered, as a page: a sealed token of what it is made from and the SHA-256 of its text, so the
    page shows exactly this text or nothing (web/agreements.py draws it again and compares)."""
    values = draft.terms["values"]
    facts = {"b": str(tracker.get_slot("borrower_id")), "l": values["loan_id"], "k": draft.kind,
             "n": str(values["months"] if draft.kind == "deferral" else values["periods"]), "d": values["day"],
             "g": draft.language, "h": draft.sha256}
    token = links.seal(settings.agreement_secret(), facts, clock.now() + dt.timedelta(hours=hours))
    return f"{settings.public_web_url()}/agreements/draft?t={token}"


def accept_agreement(dispatcher: CollectingDispatcher, tracker: Tracker, borrower: Borrower, loan: Loan,
                     length: int, draft: AgreementDraft, decision: PlanDecision, today: dt.date, now: dt.datetime,
                     policy: Policy) -> None:
    """The borrower accepted in writing: approved, recorded, linked."""
    accepted = book().accept(
        borrower_id=borrower.id, loan_id=loan.id, length=length, draft=draft, rules=decision.record(),
        channel=tracker.get_latest_input_channel() or None, conversation_id=tracker.sender_id,
        identity_check=book().identity_check(tracker.sender_id, borrower.id), today=today, now=now,
        supersedes=draft.terms["values"].get("supersedes"))  # a re-plan: the plan in force ends as superseded
    first, urls = draft.terms["payments"][0], agreement_links(accepted.agreement, policy)
    key = ("agreement.accepted.deferral" if draft.kind == "deferral" else
           "agreement.accepted.replan" if accepted.agreement.supersedes else "agreement.accepted")
    say(dispatcher, tracker, key, number=accepted.agreement.number, reference=accepted.request.reference,
        supersedes=accepted.agreement.supersedes or "",
        periods=length, first_day=Day(dt.date.fromisoformat(first["due"])), first=Money(Decimal(first["amount"])),
        link_days=policy.plans.agreement_link_days, grace_days=policy.plans.grace_days, page=urls["page"],
        pdf=urls["pdf"])


def sent_to_review(dispatcher: CollectingDispatcher, tracker: Tracker, borrower: Borrower, loan: Loan, length: int,
                   decision: PlanDecision, reference: str, now: dt.datetime, policy: Policy,
                   changed: bool = False) -> None:
    """A request outside the envelope was filed for staff (or the pending one changed): the decision is recorded,
    the borrower told why and when."""
    language = language_of(tracker)
    book().record_decision(borrower_id=borrower.id, loan_id=loan.id, kind=decision.kind,
                           outcome=DecisionOutcome.REVIEW, length=length, rules=decision.record(),
                           conversation_id=tracker.sender_id, now=now, request_reference=reference)
    decision_time = policy.words(language).decision_time
    if changed:
        say(dispatcher, tracker, "request.changed", label=text_for(tracker, f"request.label.{decision.kind}"),
            reference=reference, decision_time=decision_time)
    else:
        say(dispatcher, tracker, "decision.review.submitted", reference=reference,
            reasons=Clauses(tuple(decision.reasons(language))), decision_time=decision_time)


# --- a plan in force, told as what is owed -----------------------------------------------------------------------
def plan_lines(tracker: Tracker, borrower: Borrower, today: dt.date,
               policy: Policy) -> tuple[list[str], dict[str, Decimal]]:
    """What each plan of the borrower's says today, and the loans whose plan is in force (their old arrears are
    then not shown), each with what is left of its next payment. A plan found completed or broken is recorded so,
    and told once here."""
    lines: list[str] = []
    held: dict[str, Decimal] = {}
    grace = policy.plans.grace_days
    lines += ended_lines(tracker, borrower, grace)
    for plan in book().plans_in_force(borrower.id):
        loan = plans.find_loan(borrower, plan.loan_id)
        title = loan_title(loan, language_of(tracker)) if loan else plan.loan_id
        progress = book().follow(plan, today, clock.now(), grace)
        upcoming = progress.next_payment
        if progress.status == PlanStatus.COMPLETED or upcoming is None:
            lines.append(text_for(tracker, "plan.completed", loan=title, number=plan.agreement_number,
                                  label=text_for(tracker, f"request.label.{plan.kind}")))
            continue
        values = dict(loan=title, number=plan.agreement_number, periods=len(progress.payments),
                      next_number=upcoming.number, day=Day(upcoming.due_date), amount=Money(upcoming.left),
                      remaining=Money(progress.remaining), left=progress.payments_left, grace_days=grace,
                      label=text_for(tracker, f"request.label.{plan.kind}"))
        if progress.status == PlanStatus.BROKEN:
            if book().mark_told(plan.id, clock.now()):
                lines.append(text_for(tracker, "plan.broken", **values))
            continue
        held[plan.loan_id] = upcoming.left
        key = ("plan.owed.late" if upcoming.due_date < today else
               "plan.owed.deferral" if plan.kind == "deferral" else "plan.owed")
        lines.append(text_for(tracker, key, grace_end=Day(upcoming.due_date + dt.timedelta(days=grace)), **values))
        agreement = book().agreement(plan.agreement_number)
        if agreement is not None:
            lines.append(text_for(tracker, "plan.links", link_days=policy.plans.agreement_link_days,
                                  **agreement_links(agreement, policy)))
    return lines, held


def ended_lines(tracker: Tracker, borrower: Borrower, grace: int) -> list[str]:
    """The borrower's plans that ended without them since they last heard (broken, found by the daily run; or
    revoked by a supervisor), each told once, at this next contact."""
    lines = []
    for plan in book().ended_untold(borrower.id):
        if not book().mark_told(plan.id, clock.now()):
            continue  # another conversation told them meanwhile
        loan = plans.find_loan(borrower, plan.loan_id)
        values = dict(loan=loan_title(loan, language_of(tracker)) if loan else plan.loan_id,
                      number=plan.agreement_number, label=text_for(tracker, f"request.label.{plan.kind}"),
                      grace_days=grace)
        if plan.status == PlanStatus.REVOKED:
            lines.append(text_for(tracker, "plan.revoked", day=Day(plan.ended_on or clock.today()), **values))
        elif plan.ended_on is not None:  # broken the day after the grace of the payment missed
            missed = plan.ended_on - dt.timedelta(days=grace + 1)
            lines.append(text_for(tracker, "plan.broken", day=Day(missed), **values))
    return lines


# --- a person's review of an automated refusal ------------------------------------------------------------------
class ActionRequestReview(KuanxinAction):
    """"请人工复核": the latest automated refusal in this conversation becomes a request for staff to decide."""

    def name(self) -> str:
        return "action_request_review"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        borrower = verified_borrower(tracker)
        refusal = book().latest_refusal(tracker.sender_id) if borrower else None
        loan = plans.find_loan(borrower, refusal.loan_id) if borrower and refusal else None
        if borrower is None or refusal is None or loan is None:
            say(dispatcher, tracker, "review.nothing")
            return []
        request, _ = accounts().submit_request(
            borrower_id=borrower.id, loan_id=loan.id, kind=refusal.kind, conversation_id=tracker.sender_id,
            today=self.today(), now=self.now(), periods=refusal.length if refusal.kind == "installment" else None,
            months=refusal.length if refusal.kind == "deferral" else None,
            reason=latest_text(tracker)[:500] or None,
            details={"review_of_decision": refusal.id, "refused_by": "assistant"})
        what = text_for(tracker, "request.what", loan=loan_title(loan, language_of(tracker)),
                        label=text_for(tracker, f"request.label.{refusal.kind}"))
        say(dispatcher, tracker, "review.filed", what=what, reference=request.reference,
            decision_time=self.policy().words(language_of(tracker)).decision_time)
        return []
