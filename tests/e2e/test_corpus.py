"""The conversation corpus (tests/e2e/corpus/*.yml) against the real servers, one test per conversation.

Each conversation is written the way overdue borrowers type on a phone and states, turn by turn, what the
reply must (and must not) contain, and at the end what the account database must hold for it: requests,
promises, escalations, safety flags, opt-outs. Every conversation runs over REST; those with
`channels: [rest, wechat]` also through the WeChat double (pushes signed and encrypted like WeChat's,
answers read from the customer-service API, buttons as numbered text). Today is pinned to 2026-11-22.

The format, all keys optional but `id` and `turns`:

    - id: readable-kebab-id
      borrower: B1001                      # which demo borrower (documentation)
      channels: [rest, wechat]             # default [rest]
      turns:
        - say: 我预期了 要还多少啊          # or `click: 确认提交` to press a button of the last reply
          has: [手机号]                      # every string appears in the reply
          any: [坐牢, 民事]                  # at least one appears
          lacks: ["3,084.60元"]             # none appears (quote: amounts hold commas)
          no_amount: true                   # no money amount at all (…元)
          crisis: true                      # the safety reply: 12356/120/110, no amount, identity or collection word
          buttons: [确认提交, 取消]          # exactly these choices (WeChat: the numbered list)
          buttons_has: [转人工客服]
          buttons_lacks: [申请延期还款]
          ref: FQ                           # a reference FQ20261122-NNNN appears; later strings may use {FQ}
      records:                              # what the database holds afterwards (absent lists: nothing)
        requests: [{type: installment, periods: 12, status: pending, loan_id: L1001}]   # this conversation's
        borrower_requests: {B1006: [...]}   # all of a borrower's requests, demo ones included
        promises: [{amount: "1000.00", date: 2026-12-15}]
        escalations: [{reason: collection_abuse, priority: high, borrower: null}]
        safety_flags: 1
        opt_outs: [B1001]
        audit: [{action: request_changed, target: "{FQ}", detail_has: "6 -> 12"}]
        identity_attempts: {failed: 0, succeeded: 1}
        bound: B1001                        # the sender is bound to this borrower (WeChat); null: not bound
      wrong_today: what the assistant gets wrong today: the conversation is a strict xfail, so it
                   fails the run the day it passes (then delete the note)

KUANXIN_CORPUS_TRANSCRIPTS=DIR writes every conversation's transcript to DIR (to review what passed too).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from kuanxin.store import models
from testkit.wechat import Platform, new_openid, text_xml

CORPUS = Path(__file__).parent / "corpus"
AMOUNT = re.compile(r"\d[\d,]*(?:\.\d+)?(?:万)?元")
IDENTITY_WORDS = ("手机号", "身份证", "后4位", "后四位", "核实身份")
COLLECTION_WORDS = ("逾期", "欠款", "征信", "起诉", "还款")
REFERENCE = r"{kind}\d{{8}}-\d{{4}}"
QUIET = 0.4  # seconds without a further WeChat text before a turn's answer is taken as complete
TURN_KEYS = {"say", "click", "has", "any", "lacks", "no_amount", "crisis", "buttons", "buttons_has",
             "buttons_lacks", "ref", "note"}
RECORD_KEYS = {"requests", "borrower_requests", "promises", "escalations", "safety_flags", "opt_outs", "audit",
               "identity_attempts", "bound"}


def load_corpus() -> list[dict]:
    conversations = []
    for path in sorted(CORPUS.glob("*.yml")):
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            conversation["file"] = path.name
            conversations.append(conversation)
    return conversations


CONVERSATIONS = load_corpus()


def cases() -> list:
    params = []
    for conversation in CONVERSATIONS:
        for channel in conversation.get("channels", ["rest"]):
            known = conversation.get("wrong_today")
            marks = [pytest.mark.xfail(strict=True, reason=" ".join(known.split()))] if known else []
            params.append(pytest.param(conversation, channel, id=f"{channel}-{conversation['id']}", marks=marks))
    return params


def test_the_corpus_is_well_formed():
    ids = [c["id"] for c in CONVERSATIONS]
    assert len(ids) == len(set(ids)), "conversation ids are unique"
    assert len(ids) >= 60 and sum("wechat" in c.get("channels", []) for c in CONVERSATIONS) >= 15
    for conversation in CONVERSATIONS:
        assert conversation["turns"], conversation["id"]
        for turn in conversation["turns"]:
            assert set(turn) <= TURN_KEYS and ("say" in turn) != ("click" in turn), (conversation["id"], turn)
        assert set(conversation.get("records") or {}) <= RECORD_KEYS, conversation["id"]


# channels ---------------------------------------------------------------------------------------

class RestChat:
    """The REST channel: the texts joined by line breaks, the buttons as (title, payload)."""

    def __init__(self, borrower):
        self.borrower = borrower
        self.sender = borrower.sender
        self.buttons: list[tuple[str, str]] = []

    def say(self, text: str) -> str:
        reply = self.borrower.say(text)
        self.buttons = [(b["title"], b.get("payload") or b["title"])
                        for m in self.borrower.replies for b in m.get("buttons", [])]
        return reply

    def click(self, title: str) -> str:
        payloads = [payload for t, payload in self.buttons if t == title]
        assert payloads, f"no button {title!r} in the last reply (buttons: {[t for t, _ in self.buttons]})"
        return self.say(payloads[0])


NUMBERED = re.compile(r"回复数字即可选择:\s*\n((?:\d+\. .*(?:\n|$))+)")
DIRECT = re.compile(r"请直接回复:(.*)")


class WeChatChat:
    """The WeChat double: one encrypted push per message, the answer read from the customer-service API.

    The choices WeChat shows as text are taken out of the answer and kept as the buttons, so the text
    checks mean the same on both channels."""

    def __init__(self, platform: Platform, api):
        self.platform, self.api = platform, api
        self.sender = new_openid()
        self.buttons: list[tuple[str, str]] = []  # (title, what to reply to pick it)

    def say(self, text: str) -> str:
        before = len(self.api.texts(self.sender))
        deliveries = self.platform.push(text_xml(self.sender, text, time.time_ns() // 1000))
        assert [(d.status, d.body) for d in deliveries] == [(200, "success")], deliveries
        texts = self.api.wait_for_texts(self.sender, before + 1, timeout=60)
        while True:  # a long answer comes as several texts, one right after another
            time.sleep(QUIET)
            more = self.api.texts(self.sender)
            if len(more) == len(texts):
                break
            texts = more
        answer = "\n".join(texts[before:])
        self.buttons = []
        for block in NUMBERED.finditer(answer):
            for line in block.group(1).strip().splitlines():
                number, title = line.split(". ", 1)
                self.buttons.append((title.strip(), number))
        for line in DIRECT.finditer(answer):
            self.buttons += [(title.strip(), title.strip()) for title in line.group(1).split("、")]
        return DIRECT.sub("", NUMBERED.sub("", answer))

    def click(self, title: str) -> str:
        picks = [pick for t, pick in self.buttons if t == title]
        assert picks, f"no choice {title!r} in the last answer (choices: {[t for t, _ in self.buttons]})"
        return self.say(picks[0])


@pytest.fixture
def platform(servers, wechat_account, wechat_api, action_proxy, db):
    wechat_api.reset(keep_token=True)
    action_proxy.delays.clear()
    return Platform(wechat_account, f"{servers.rasa_url}/webhooks/wechat/webhook")


# checks -----------------------------------------------------------------------------------------

def fill(value, refs: dict[str, str]):
    if isinstance(value, str):
        for kind, reference in refs.items():
            value = value.replace("{" + kind + "}", reference)
    return value


def check_turn(number: int, turn: dict, reply: str, buttons: list[str], refs: dict[str, str]) -> list[str]:
    """What is wrong with this reply, in words (empty when it is right)."""
    wrong = []
    shown = f"turn {number} «{turn.get('say') or turn.get('click')}»"
    for text in turn.get("has", []):
        if fill(str(text), refs) not in reply:
            wrong.append(f"{shown}: missing {fill(str(text), refs)!r}")
    if turn.get("any") and not any(str(t) in reply for t in turn["any"]):
        wrong.append(f"{shown}: none of {turn['any']}")
    for text in turn.get("lacks", []):
        if fill(str(text), refs) in reply:
            wrong.append(f"{shown}: must not say {fill(str(text), refs)!r}")
    if turn.get("no_amount") and AMOUNT.search(reply):
        wrong.append(f"{shown}: must not state an amount, says {AMOUNT.search(reply).group(0)!r}")
    if turn.get("crisis"):
        for needed in ("12356", "120", "110"):
            if needed not in reply:
                wrong.append(f"{shown}: the safety reply lacks {needed}")
        if AMOUNT.search(reply):
            wrong.append(f"{shown}: the safety reply states an amount")
        for word in IDENTITY_WORDS + COLLECTION_WORDS:
            if word in reply:
                wrong.append(f"{shown}: the safety reply says {word!r}")
        if buttons:
            wrong.append(f"{shown}: the safety reply offers choices {buttons}")
    if "buttons" in turn and buttons != [str(b) for b in turn["buttons"]]:
        wrong.append(f"{shown}: buttons {buttons}, expected {turn['buttons']}")
    for title in turn.get("buttons_has", []):
        if title not in buttons:
            wrong.append(f"{shown}: no button {title!r} (buttons {buttons})")
    for title in turn.get("buttons_lacks", []):
        if title in buttons:
            wrong.append(f"{shown}: must not offer {title!r}")
    if turn.get("ref"):
        found = re.search(REFERENCE.format(kind=turn["ref"]), reply)
        if found:
            refs[turn["ref"]] = found.group(0)
        else:
            wrong.append(f"{shown}: no {turn['ref']} reference number")
    return wrong


def rows(db, model, **where) -> list:
    with db.session() as session:
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return list(session.execute(query).scalars())


def as_text(value) -> str | None:
    return None if value is None else str(value)


def request_view(request) -> dict:
    return {"type": request.type, "status": request.status, "months": request.months, "periods": request.periods,
            "loan_id": request.loan_id, "reference": request.reference, "reason": request.reason or ""}


def matches(view: dict, expected: dict, refs: dict[str, str]) -> bool:
    for key, value in expected.items():
        if key.endswith("_has"):
            if fill(str(value), refs) not in (view.get(key[:-4]) or ""):
                return False
        elif as_text(view.get(key)) != as_text(fill(value, refs)):
            return False
    return True


def compare(kind: str, views: list[dict], expected: list[dict], refs: dict[str, str]) -> list[str]:
    """Each expected record matches one actual record, and there are no others."""
    left = list(views)
    wrong = []
    for wanted in expected:
        found = next((v for v in left if matches(v, wanted, refs)), None)
        if found is None:
            wrong.append(f"{kind}: no record like {wanted}")
        else:
            left.remove(found)
    wrong += [f"{kind}: unexpected record {v}" for v in left]
    return wrong


def check_records(db, sender: str, records: dict, refs: dict[str, str]) -> list[str]:
    wrong = []
    requests = [request_view(r) for r in rows(db, models.ServiceRequest, conversation_id=sender)]
    wrong += compare("requests", requests, records.get("requests", []), refs)
    for borrower_id, expected in (records.get("borrower_requests") or {}).items():
        views = [request_view(r) for r in rows(db, models.ServiceRequest, borrower_id=borrower_id)]
        wrong += compare(f"requests of {borrower_id}", views, expected, refs)
    promises = [{"amount": str(p.amount), "date": p.promised_date.isoformat(), "status": p.status,
                 "borrower": p.borrower_id, "reference": p.reference}
                for p in rows(db, models.PaymentPromise, conversation_id=sender)]
    wrong += compare("promises", promises, records.get("promises", []), refs)
    escalations = [{"reason": e.reason, "priority": e.priority, "status": e.status, "borrower": e.borrower_id,
                    "reference": e.reference, "summary": e.summary or ""}
                   for e in rows(db, models.Escalation, conversation_id=sender)]
    wrong += compare("escalations", escalations, records.get("escalations", []), refs)
    if hasattr(models, "SafetyFlag"):
        flags = rows(db, models.SafetyFlag, conversation_id=sender)
        if len(flags) != records.get("safety_flags", 0):
            wrong.append(f"safety flags: {len(flags)}, expected {records.get('safety_flags', 0)}")
    elif records.get("safety_flags"):
        wrong.append("safety flags: this version has none")
    opt_outs = sorted(o.borrower_id for o in rows(db, models.ReminderOptOut))
    if opt_outs != sorted(records.get("opt_outs", [])):
        wrong.append(f"reminder opt-outs: {opt_outs}, expected {records.get('opt_outs', [])}")
    if "audit" in records:
        # the assistant's own decisions are audited too; a conversation checks them only when it names one
        automated = any(r.get("action") == "automated_decision" for r in records["audit"])
        audit = [{"action": a.action, "target": a.target, "detail": a.detail or ""}
                 for a in rows(db, models.AuditEntry, conversation_id=sender)
                 if automated or a.action != "automated_decision"]
        wrong += compare("audit", audit, records["audit"], refs)
    if "identity_attempts" in records:
        attempts = rows(db, models.IdentityAttempt, conversation_id=sender)
        counted = {"failed": sum(not a.succeeded for a in attempts), "succeeded": sum(a.succeeded for a in attempts)}
        if counted != {"failed": 0, "succeeded": 0, **records["identity_attempts"]}:
            wrong.append(f"identity attempts: {counted}, expected {records['identity_attempts']}")
    if "bound" in records:
        with db.session() as session:
            binding = session.get(models.SenderBinding, sender)
        if (binding.borrower_id if binding else None) != records["bound"]:
            wrong.append(f"binding: {binding.borrower_id if binding else None}, expected {records['bound']}")
    return wrong


# the test ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("conversation", "channel"), cases())
def test_conversation(conversation, channel, request, db):
    if channel == "wechat":
        chat = WeChatChat(request.getfixturevalue("platform"), request.getfixturevalue("wechat_api"))
    else:
        chat = RestChat(request.getfixturevalue("borrower"))
    refs: dict[str, str] = {}
    transcript, wrong = [], []
    for number, turn in enumerate(conversation["turns"], 1):
        if "click" in turn:
            try:
                reply = chat.click(str(turn["click"]))
            except AssertionError as exc:
                wrong.append(f"turn {number}: {exc}")
                break
        else:
            reply = chat.say(str(turn["say"]))
        buttons = [title for title, _ in chat.buttons]
        transcript.append(f"> {turn.get('say') or '[' + str(turn.get('click')) + ']'}\n{reply}"
                          + (f"\n[{' | '.join(buttons)}]" if buttons else ""))
        wrong += check_turn(number, turn, reply, buttons, refs)
    wrong += check_records(db, chat.sender, conversation.get("records") or {}, refs)
    if os.environ.get("KUANXIN_CORPUS_TRANSCRIPTS"):  # a directory: every transcript written there, for review
        out = Path(os.environ["KUANXIN_CORPUS_TRANSCRIPTS"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{channel}-{conversation['id']}.txt").write_text(
            "\n\n".join(transcript) + ("\n\n--- wrong ---\n" + "\n".join(wrong) if wrong else "") + "\n",
            encoding="utf-8")
    if wrong:
        pytest.fail("\n".join(wrong) + "\n\n--- transcript ---\n" + "\n\n".join(transcript), pytrace=False)
