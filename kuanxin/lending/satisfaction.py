"""Borrower satisfaction: one light question after an outcome, its answer read as people type it, and who may be asked.

The question (满意 / 一般 / 不满意 buttons, the same words typed) follows an outcome: a plan agreed in writing, a
promise recorded, a request filed for staff, or a question answered and then thanks or goodbye. Rules (policy.yml
`satisfaction`, kuanxin.core.policy.SatisfactionPolicy):
- at most once a calendar day (Beijing) per borrower; a borrower who has not verified (a general question answered)
  is keyed by the conversation instead, when `ask_unverified` allows asking them at all;
- never twice in one conversation, and never in a conversation with a safety escalation or flag, nor to a borrower
  whose safety flag is open;
- the borrower may ignore it: whatever else they write is handled as usual and the question is not asked again.
The once-a-day and once-per-conversation rules are kept by the database (kuanxin/store/satisfaction.py); this module
holds what needs no database.
"""
from __future__ import annotations

import re

from kuanxin.core.policy import SatisfactionPolicy
from kuanxin.core.vocab import SatisfactionOutcome, SatisfactionRating
from kuanxin.core.zh_parse import is_question, normalize_text
from kuanxin.lending.identity import mask_text
from kuanxin.lending.safety import CRISIS_INTENT

# the intents an outcome's topic is named by in the report; any other intent counts as "other"
TOPICS = ("promise_to_pay", "request_installment", "request_deferral", "request_penalty_waiver", "check_overdue",
          "check_request_status", "ask_loan_facts", "ask_settlement", "ask_consequences", "ask_repayment_methods",
          "ask_credit_repair", "ask_prevention", "ask_rights")
OTHER_TOPIC = "other"

# Typed answers: the whole message must be a rating, with at most a degree word before it and a particle or thanks
# after it ("挺满意的", "还行吧", "不太满意啊", "满意,谢谢"). Longer messages are not taken as a rating.
_TYPOS = str.maketrans({"瞒": "满", "蛮": "满", "义": "意", "形": "行", "搬": "般"})
_DEGREE = r"(?:很|非常|挺|满|比较|还算|特别|十分|超|超级|相当|真|真的|都|总体|整体|基本|还|算是|感觉|觉得|我)*"
_TAIL = r"(?:的|吧|啊|呀|哦|喔|了|呢|嗯|哈|啦|哈哈|谢谢|谢谢你|谢谢您|感谢|多谢|thanks|thankyou)*"
_BAD = (r"(?:不(?:太|怎么|大|是很|很|够)?(?:满意|好|行)|满意不了|不满|差评|差劲|很差|太差|差|失望|一星|1星"
        r"|notsatisfied|unsatisfied|dissatisfied|bad|poor)")
_NEUTRAL = r"(?:一般般?|还行|还可以|凑合|马马虎虎|还好|普通|中评|三星|3星|soso|okay|neutral|average)"
_GOOD = r"(?:满意|好评|(?:很|挺|满|非常|特别|真|太)好|不错|五星|5星|满分|satisfied|good|great)"
PATTERNS = ((SatisfactionRating.BAD, re.compile(rf"{_DEGREE}{_BAD}{_TAIL}")),
            (SatisfactionRating.NEUTRAL, re.compile(rf"{_DEGREE}{_NEUTRAL}{_TAIL}")),
            (SatisfactionRating.GOOD, re.compile(rf"{_DEGREE}{_GOOD}{_TAIL}")))
_PIECES = re.compile(r"[\s,.!;:~、,。!;:…～]+")
_NOISE = re.compile(r"[\s,.!?;:~、,。!?;:…～\-]+")


def rating_in(text: str) -> SatisfactionRating | None:
    """The rating a typed answer gives, or None when the message is something else."""
    plain = _NOISE.sub("", normalize_text(text or "").lower()).translate(_TYPOS)
    if not plain or len(plain) > 20:
        return None
    for rating, pattern in PATTERNS:  # the negative first: 不满意 holds 满意
        if pattern.fullmatch(plain):
            return rating
    return None


def rating_with_comment(text: str) -> tuple[SatisfactionRating | None, str]:
    """A typed rating and what follows it as a comment: "满意,就是利息太高" is (good, "就是利息太高")."""
    whole = rating_in(text)
    if whole is not None:
        return whole, ""
    parts = _PIECES.split((text or "").strip(), maxsplit=1)
    rating = rating_in(parts[0]) if len(parts) == 2 else None
    return (rating, parts[1].strip()) if rating is not None else (None, "")


# After the invitation to comment, the next message is the comment unless it is one of these: closing words, a
# matter for staff (a complaint, a dispute, a person, a crisis), a question, a plain yes or no, or something the
# classifier is sure the assistant handles (a balance, a request…). Those are answered as usual.
NOT_COMMENTS = {"thank", "goodbye", "deny", "greet", "cancel", "bot_challenge", "request_human",
                "report_collection_abuse", "dispute_debt", CRISIS_INTENT}
STAFF_MATTERS = {"request_human", "report_collection_abuse", "dispute_debt", CRISIS_INTENT}
COMMENT_LIKE = {"out_of_scope", "nlu_fallback", "inform", "express_frustration", "affirm", "rate_conversation"}
SURE = 0.85  # a classification this confident of something the assistant handles is a new request, not a comment
_SHORT_REPLY = re.compile(r"(?:好|好的|嗯|嗯嗯|哦|噢|行|可以|ok|okay|没|没有|没了|没有了|没什么|没啥|没事|"
                          r"不用|不用了|算了|无|暂时没有|no|nope|nothing)[了啦吧呀哦的]*")


def is_comment(text: str, intent: str | None, confidence: float) -> bool:
    plain = _NOISE.sub("", normalize_text(text or "").lower())
    if not plain or _SHORT_REPLY.fullmatch(plain) or rating_in(text) is not None:
        return False
    if intent in NOT_COMMENTS or is_question(text):
        return False
    return intent in COMMENT_LIKE or confidence < SURE


def rating_from(value: object) -> SatisfactionRating | None:
    """A button's rating value (good | neutral | bad), or None for anything else."""
    return SatisfactionRating(value) if isinstance(value, str) and value in SatisfactionRating.values() else None


def asker(borrower_id: str | None, conversation_id: str) -> str:
    """Who the once-a-day rule counts: the borrower, or the conversation when nobody is verified."""
    return f"borrower:{borrower_id}" if borrower_id else f"conversation:{conversation_id}"


def topic_of(intent: str | None) -> str:
    return intent if intent in TOPICS else OTHER_TOPIC


def may_ask(policy: SatisfactionPolicy, outcome: SatisfactionOutcome, verified: bool, crisis_seen: bool) -> bool:
    """What the policy and the conversation itself allow; the database then keeps the once-a-day rules."""
    if not policy.ask or outcome not in policy.outcomes or crisis_seen:
        return False
    return verified or policy.ask_unverified


def comment_text(text: str, max_chars: int) -> str:
    """A comment as kept: phone and ID numbers masked (before the cut, so no number is cut short of its mask),
    then cut to the policy's length."""
    return mask_text((text or "").strip())[:max_chars].strip()
