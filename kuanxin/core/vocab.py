"""The closed vocabularies of the account database: every status, reason, kind, role and channel a
column may hold, each stored as its string value and kept to the set by a CHECK constraint
(kuanxin.store.models; migration 0005).

The members are strings (`RequestStatus.PENDING == "pending"`), so code comparing with plain
strings keeps working. A new value needs a migration that widens the constraint.

Not closed, so not here: the input channel of escalations, safety flags and opt-outs (whatever
Rasa connector the borrower wrote through, `rest` and `cmdline` included); a refused escalation
would lose a borrower in crisis.
"""
from __future__ import annotations

import enum


class Vocabulary(str, enum.Enum):
    """A closed set of string values; str() and f-strings give the value itself."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)


class LoanStatus(Vocabulary):
    ACTIVE = "active"
    LITIGATION = "litigation"
    SETTLED = "settled"


class RequestType(Vocabulary):
    DEFERRAL = "deferral"
    INSTALLMENT = "installment"
    WAIVER = "waiver"


class RequestStatus(Vocabulary):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PromiseStatus(Vocabulary):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


class EscalationReason(Vocabulary):
    """Why a conversation went to staff (actions/escalation.py, actions/feelings.py, the safety protocol)."""

    HUMAN = "human"
    DISPUTE = "dispute"
    COLLECTION_ABUSE = "collection_abuse"
    LOW_CONFIDENCE = "low_confidence"
    SAFETY = "safety"
    FRUSTRATION = "frustration"


class Priority(Vocabulary):
    HIGH = "high"
    NORMAL = "normal"


class EscalationStatus(Vocabulary):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class StaffRole(Vocabulary):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class BindingChannel(Vocabulary):
    """The channels that vouch for a conversation's borrower (sender bindings)."""

    WEBCHAT = "webchat"
    WECHAT = "wechat"


class ReminderChannel(Vocabulary):
    WECHAT = "wechat"
    SMS = "sms"


class ReminderKind(Vocabulary):
    SEGMENT = "segment"
    BROKEN_PROMISE = "broken_promise"
    PLAN_PAYMENT = "plan_payment"  # a plan payment due soon (policy.yml plans.remind_days_before; revision 0013)


class ReminderStatus(Vocabulary):
    SENDING = "sending"  # claimed; a run that stopped mid-send may have sent it
    SENT = "sent"
    FAILED = "failed"


class Segment(Vocabulary):
    """The account classes of kuanxin.lending.segments (policy.yml names the same, kuanxin.core.policy.SEGMENTS)."""

    UPCOMING = "upcoming"
    EARLY = "early"
    MIDDLE = "middle"
    LATE = "late"
    LITIGATION = "litigation"
    SETTLED = "settled"
    CURRENT = "current"


class AccountSize(Vocabulary):
    """Small or large by the overdue amount (policy.yml segments.large_from)."""

    SMALL = "small"
    LARGE = "large"


class AuditAction(Vocabulary):
    """What an audit entry records: the console's actions, a borrower changing a pending request, and the
    privacy commands (kuanxin privacy …)."""

    CLAIM = "claim"
    TAKE_OVER = "take_over"
    HAND_BACK = "hand_back"
    REPLY = "reply"
    RESOLVE = "resolve"
    NOTE = "note"
    APPROVE = "approve"
    REJECT = "reject"
    CLEAR_SAFETY = "clear_safety"
    REQUEST_CHANGED = "request_changed"
    PRIVACY_EXPORT = "privacy_export"  # kuanxin privacy export: everything held about a borrower, written out
    PRIVACY_DELETE = "privacy_delete"  # kuanxin privacy delete: transcripts and free text anonymised
    PRIVACY_RETENTION = "privacy_retention"  # kuanxin privacy retention: old transcripts anonymised
    REPLAY_EVENT = "replay_event"  # the console's 重新投递: an event queued again for the lender (revision 0008)
    ASSIGN = "assign"  # an escalation given to a named agent: by a supervisor or the round-robin (revision 0010)
    AUTOMATED_DECISION = "automated_decision"  # the assistant approved a plan or sent it to staff (revision 0011)
    REVOKE_PLAN = "revoke_plan"  # a supervisor revoked an automated approval in its cooling-off window (revision 0013)
    REMINDER_PREFERENCES = "reminder_preferences"  # a borrower said when and how to be reminded (revision 0014)
    ATTACH_DOCUMENT = "attach_document"  # a borrower's document accepted and stored (kuanxin/evidence; revision 0016)
    DOCUMENT_CONSENT = "document_consent"  # consent to keep sensitive documents given or withdrawn (revision 0016)
    VIEW_DOCUMENT = "view_document"  # staff opened a borrower's document in the console (revision 0016)
    PURGE_DOCUMENTS = "purge_documents"  # kuanxin documents purge: documents past policy.yml retention deleted (0016)


class EventKind(Vocabulary):
    """The facts the lender must act on, sent to its webhook as events (kuanxin/store/outbox.py), by type."""

    REQUEST_CREATED = "request.created"  # a deferral, installment or waiver request filed
    REQUEST_CHANGED = "request.changed"  # a pending request changed by the borrower
    REQUEST_DECIDED = "request.decided"  # approved or rejected by a supervisor
    PROMISE_MADE = "promise.made"
    PROMISE_KEPT = "promise.kept"  # the day-after follow-up (kuanxin/reminders/promises.py)
    PROMISE_BROKEN = "promise.broken"
    DISPUTE_FILED = "dispute.filed"  # an escalation with reason dispute
    COMPLAINT_FILED = "complaint.filed"  # an escalation with reason collection_abuse
    SAFETY_ESCALATED = "safety.escalated"  # the safety protocol's escalation
    REMINDERS_OPTED_OUT = "reminders.opted_out"
    IDENTITY_LOCKED = "identity.locked"  # failed identity checks locked a phone number or a conversation
    PLAN_ACCEPTED = "plan.accepted"  # a plan agreed in writing (kuanxin/store/agreements.py)
    PLAN_BROKEN = "plan.broken"
    PLAN_COMPLETED = "plan.completed"
    PLAN_REVOKED = "plan.revoked"  # a supervisor revoked the assistant's approval (revision 0013)


class DecisionOutcome(Vocabulary):
    """What an automated decision on a plan came to (kuanxin/lending/decisions.py; revision 0011)."""

    APPROVED = "approved"  # inside the policy's envelope: approved by the assistant, on the spot
    REVIEW = "review"  # outside it: a request for staff review
    REFUSED = "refused"  # the eligibility rules refuse it; the borrower may ask a person to review that


class PlanStatus(Vocabulary):
    """A plan agreed in writing (kuanxin/lending/plan_life.py; revision 0011)."""

    IN_FORCE = "in_force"
    COMPLETED = "completed"  # every plan payment made
    BROKEN = "broken"  # a payment still unpaid after the grace days
    SUPERSEDED = "superseded"  # replaced by a later agreement
    REVOKED = "revoked"  # a supervisor revoked the automated approval within its cooling-off window (revision 0013)


class DeliveryStatus(Vocabulary):
    """An event's delivery to one of the lender's endpoints: waiting (first try or a retry), or done."""

    PENDING = "pending"
    DELIVERED = "delivered"


class DocumentPurpose(Vocabulary):
    """What a borrower's document supports (kuanxin/evidence; revision 0016)."""

    HARDSHIP = "hardship"  # a deferral or installment request: proof of illness, job loss, …
    DISPUTE = "dispute"
    WAIVER = "waiver"
    PAYMENT_QUERY = "payment_query"  # a payment the borrower says they made: a receipt


class DocumentKind(Vocabulary):
    """A stored document's type, decided by its content (kuanxin/evidence/sniff.py), never by its name."""

    JPEG = "jpeg"
    PNG = "png"
    PDF = "pdf"
    HEIC = "heic"  # only as received: a HEIC/HEIF photo is stored re-encoded as JPEG


class ConsentChannel(Vocabulary):
    """Where a consent to keep documents was given or withdrawn: in a chat channel, or by staff on the borrower's
    request (a call to the hotline, a conversation with a person)."""

    WEBCHAT = "webchat"
    WECHAT = "wechat"
    STAFF = "staff"


class ConsentDecision(Vocabulary):
    """A borrower's consent to keep sensitive personal information (PIPL Arts. 28-30), or its withdrawal."""

    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class SatisfactionRating(Vocabulary):
    """A borrower's answer to the one light question after an outcome (kuanxin/lending/satisfaction.py; 0015)."""

    GOOD = "good"  # 满意
    NEUTRAL = "neutral"  # 一般
    BAD = "bad"  # 不满意


class SatisfactionOutcome(Vocabulary):
    """What the conversation came to when the satisfaction question was asked (revision 0015)."""

    PLAN = "plan"  # a plan agreed in writing (我同意)
    PROMISE = "promise"  # a promise to pay recorded
    REQUEST = "request"  # a deferral, installment or waiver request filed for staff
    ANSWERED = "answered"  # a question answered, then thanks or goodbye
