"""Questions the assistant answers wherever the borrower asks them, inside a form or not.

Each entry maps an intent to the action that answers it on its own (the rules run that action
outside forms); a form that meets such a question in the middle runs the same action through
`answer()`, then asks its pending question again (actions/forms.py). Add an intent here once,
and every form, present and future, answers it.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.account import ActionCheckRequestStatus, ActionExplainConsequences, ActionShowOverdue
from actions.base import KuanxinAction
from actions.feelings import ActionRespondToFrustration
from actions.info import ActionExplainLegitimacy, ActionExplainRights, ActionPreventionTips, ActionRepaymentMethods
from actions.loan_facts import ActionLoanFacts, ActionSettlement
from actions.reminders import ActionSetReminderPreferences, ActionStopReminders

# intent -> the action that answers it, and whether it needs a verified borrower
ANSWERS: dict[str, tuple[type[KuanxinAction] | str, bool]] = {
    "ask_consequences": (ActionExplainConsequences, False),
    "ask_repayment_methods": (ActionRepaymentMethods, False),
    "ask_prevention": (ActionPreventionTips, False),
    "ask_credit_repair": ("utter_credit_repair", False),
    "bot_challenge": ("utter_iamabot", False),
    "ask_rights": (ActionExplainRights, False),
    "ask_legitimacy": (ActionExplainLegitimacy, False),
    "express_frustration": (ActionRespondToFrustration, False),
    "check_overdue": (ActionShowOverdue, True),
    "check_request_status": (ActionCheckRequestStatus, True),
    "ask_loan_facts": (ActionLoanFacts, True),
    "ask_settlement": (ActionSettlement, True),
    # statements done on the spot: "以后用短信提醒我" in the middle of an agreement is recorded, then the agreement
    "set_reminder_preferences": (ActionSetReminderPreferences, True),
    "stop_reminders": (ActionStopReminders, True),
}


def answerable(intent: str | None, verified: bool) -> bool:
    entry = ANSWERS.get(intent or "")
    return entry is not None and (verified or not entry[1])


async def answer(intent: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> None:
    """Answers the question as its own action would; the events it returns do not concern the form."""
    action, _needs_identity = ANSWERS[intent]
    before = len(dispatcher.messages)
    if isinstance(action, str):
        dispatcher.utter_message(response=action)
    else:
        await action().act(dispatcher, tracker, domain)
    for message in dispatcher.messages[before:]:
        message["buttons"] = []  # inside a form, the form's own question carries the choices
