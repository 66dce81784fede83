"""Payments pushed into an open conversation (kuanxin/outbound/payment_news.py), on a real database: who is told
(verified as the borrower, active within payments.tell_open_minutes, not taken over by staff, no safety flag open),
exactly once whether pushed or claimed at the next message, and released again when the message is not delivered.
The conversation store's answers are given by the test: Rasa itself is exercised end to end in
tests/e2e/browser/test_pay_now_widget.py."""
from __future__ import annotations

import datetime as dt

import pytest

from kuanxin.core import clock
from kuanxin.core import policy as policies
from kuanxin.outbound.payment_news import ConversationState, OpenConversations, told_since
from kuanxin.store.accounts import Accounts
from kuanxin.store.payments import claim_untold_payments
from kuanxin.store.sync import Sync
from tests.unit.test_sync import BOOK, PAYMENT

BORROWER = "B9001"


def sync(db, records):
    return Sync(db, policies.current().payments, "api").run((f"line {i}", r) for i, r in enumerate(records, 1))


def active(minutes_ago: float = 1, borrower: str | None = BORROWER, paused: bool = False,
           channel: str = "webchat") -> ConversationState:
    now = clock.real_utc().replace(tzinfo=dt.timezone.utc).timestamp()
    return ConversationState(verified_borrower=borrower, paused=paused, latest_event_time=now - minutes_ago * 60,
                             channel=channel)


class Rasa:
    """The conversation store's answers and the messages it accepted (or a refusal)."""

    def __init__(self, states: dict[str, ConversationState], refuse: bool = False):
        self.states, self.refuse, self.told = states, refuse, []

    def state_of(self, conversation_id: str) -> ConversationState:
        return self.states[conversation_id]

    def tell(self, conversation_id: str, text: str) -> None:
        if self.refuse:
            raise RuntimeError("Rasa answered 503")
        self.told.append((conversation_id, text))


@pytest.fixture
def paid(db):
    """The borrower's book and a payment of 500.00 just received, and a conversation session of theirs."""
    sync(db, BOOK)
    sync(db, [PAYMENT])
    Accounts(db).start_session("conv-open", BORROWER, clock.real_utc() - dt.timedelta(minutes=5))
    return db


def sweep(db, rasa: Rasa):
    return OpenConversations(db, rasa.state_of, rasa.tell).sweep()


def still_untold(db) -> list[str]:
    """What the borrower's next message would tell (claimed here, as the next message would)."""
    return [p.id for p in claim_untold_payments(db, BORROWER, told_since(), "conv-next", clock.real_utc())]


def test_a_verified_active_conversation_is_told_once_with_the_new_balance(paid):
    rasa = Rasa({"conv-open": active()})
    told = sweep(paid, rasa)
    assert [(t.borrower_id, t.conversation_id, t.payment_ids) for t in told] == [(BORROWER, "conv-open", ("P1",))]
    [(conversation, text)] = rasa.told
    assert conversation == "conv-open"
    assert "500.00" in text and "L9001" in text
    assert sweep(paid, rasa) == [] and len(rasa.told) == 1  # once
    assert still_untold(paid) == []  # and the next message does not tell it again


def test_a_wechat_conversation_is_told_too(paid):
    rasa = Rasa({"conv-open": active(channel="wechat")})
    assert [t.conversation_id for t in sweep(paid, rasa)] == ["conv-open"]


def test_a_payment_the_next_message_told_is_not_pushed(paid):
    assert still_untold(paid) == ["P1"]
    rasa = Rasa({"conv-open": active()})
    assert sweep(paid, rasa) == [] and rasa.told == []


@pytest.mark.parametrize("state", [active(borrower=None), active(borrower="B9002"), active(minutes_ago=31),
                                   active(paused=True), active(channel="rest"),
                                   ConversationState(verified_borrower=BORROWER, paused=False, latest_event_time=None,
                                                     channel="webchat")],
                         ids=["unverified", "another-borrower", "quiet-too-long", "taken-over", "rest-answers-only",
                              "no-events"])
def test_a_conversation_that_may_not_be_told_is_left_to_the_next_message(paid, state):
    rasa = Rasa({"conv-open": state})
    assert sweep(paid, rasa) == [] and rasa.told == []
    assert still_untold(paid) == ["P1"]


def test_no_push_while_a_safety_flag_of_the_borrower_is_open(paid):
    Accounts(paid).raise_safety_flag(conversation_id="conv-crisis", borrower_id=BORROWER, channel="webchat",
                                     summary="(安全关注)", today=clock.today(), now=clock.real_utc())
    rasa = Rasa({"conv-open": active()})
    assert sweep(paid, rasa) == [] and rasa.told == []
    assert still_untold(paid) == ["P1"]


def test_a_message_rasa_refused_releases_the_payment_for_the_next_message(paid):
    rasa = Rasa({"conv-open": active()}, refuse=True)
    assert sweep(paid, rasa) == []
    assert still_untold(paid) == ["P1"]


def test_the_most_recently_active_of_the_borrowers_conversations_is_told(paid):
    Accounts(paid).start_session("conv-newer", BORROWER, clock.real_utc() - dt.timedelta(minutes=2))
    rasa = Rasa({"conv-open": active(minutes_ago=10), "conv-newer": active(minutes_ago=1)})
    assert [t.conversation_id for t in sweep(paid, rasa)] == ["conv-newer"]


def test_only_payments_received_within_the_window_are_pushed_and_charge_backs_never(paid):
    sync(paid, [{**PAYMENT, "id": "P2", "amount": "200.00"},
                {**PAYMENT, "id": "P2-R", "amount": "-200.00", "reverses": "P2"}])
    rasa = Rasa({"conv-open": active()})
    [told] = sweep(paid, rasa)
    assert told.payment_ids == ("P1",)
    assert "200.00" not in rasa.told[0][1] and "500.00" in rasa.told[0][1]


def test_a_policy_of_zero_minutes_pushes_nothing(paid, monkeypatch):
    current = policies.current()
    monkeypatch.setattr(policies, "current", lambda: _with_minutes(current, 0))
    rasa = Rasa({"conv-open": active()})
    assert sweep(paid, rasa) == [] and rasa.told == []


def _with_minutes(policy, minutes: int):
    import dataclasses
    return dataclasses.replace(policy, payments=dataclasses.replace(policy.payments, tell_open_minutes=minutes))


def test_the_policy_reads_and_bounds_the_window():
    assert policies.parse_payments({"tell_open_minutes": 0, "tell_open_sweep_seconds": 2}).tell_open_minutes == 0
    assert policies.parse_payments({}).tell_open_minutes == 30
    with pytest.raises(policies.PolicyError, match="tell_open_minutes"):
        policies.parse_payments({"tell_open_minutes": 241})
    with pytest.raises(policies.PolicyError, match="tell_open_sweep_seconds"):
        policies.parse_payments({"tell_open_sweep_seconds": 0})
