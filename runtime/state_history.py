"""The policies' state history, carried on from the last prediction instead of rebuilt from the first event.

For every prediction (two to four a turn) the memoization and rule policies each ask Rasa 3.6 for the state of
every earlier turn (Domain.states_for_tracker_history): it replays the whole conversation into a fresh tracker
and builds a state at each action, 0.55-0.75 ms at 65 events, five times a turn. Within a turn the conversation
only grows, so here each conversation's replay is kept (per set of options) with the states built so far, and a
later call whose applied events begin with the same event objects replays only the new ones. Anything else (another
conversation, a conversation read again from the store, a rewind that changed the applied events, another domain)
is built from the first event as before. Each caller gets its own copy of the states: the featurizers edit them.

The loop is Rasa's own (rasa/shared/core/domain.py states_for_tracker_history), split so it can stop before the
final state and go on from there; tests/unit/test_state_history.py compares the two on every prefix of the
training stories and rules.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

KEPT = 512  # conversations whose replay is kept (the least recently predicted are dropped first)
_rasa_states_for_tracker_history = Domain.states_for_tracker_history


@dataclass
class Replay:
    """How far a conversation's history was built: the applied events replayed, the tracker they left, the states
    of every action so far (not the final state), and the loop's two variables as they were before it."""
    domain: Domain
    rule_only_data: Any
    tracker: DialogueStateTracker
    applied: list[Event] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    last_ml_action: Any = None
    turn_was_hidden: bool = False

    def goes_on_to(self, domain: Domain, rule_only_data: Any, applied: list[Event]) -> bool:
        return (domain is self.domain and rule_only_data is self.rule_only_data and len(applied) >= len(self.applied)
                and all(new is old for new, old in zip(applied, self.applied, strict=False)))


_kept: OrderedDict[tuple[str, bool, bool], Replay] = OrderedDict()


def states_for_tracker_history(self: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: dict[str, Any] | None = None) -> list[State]:
    key = (tracker.sender_id, omit_unset_slots, ignore_rule_only_turns)
    applied = tracker.applied_events()
    replay = _kept.get(key)
    if replay is None or not replay.goes_on_to(self, rule_only_data, applied):
        replay = Replay(self, rule_only_data, tracker.init_copy())
    _kept[key] = replay
    _kept.move_to_end(key)
    while len(_kept) > KEPT:
        _kept.popitem(last=False)
    for event in applied[len(replay.applied):]:
        if isinstance(event, ActionExecuted):
            replay.last_ml_action, replay.turn_was_hidden = _add_state(
                self, replay.states, replay.tracker, event.hide_rule_turn, replay.last_ml_action,
                replay.turn_was_hidden, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        replay.tracker.update(event)
    replay.applied = applied
    states = [dict(state) for state in replay.states]  # the final state is the caller's alone
    _add_state(self, states, replay.tracker, False, replay.last_ml_action, replay.turn_was_hidden,
               omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    return [{kind: dict(sub_state) for kind, sub_state in state.items()} for state in states]


def _add_state(domain: Domain, states: list[State], tracker: DialogueStateTracker, hide_rule_turn: bool,
               last_ml_action: Any, turn_was_hidden: bool, omit_unset_slots: bool, ignore_rule_only_turns: bool,
               rule_only_data: dict[str, Any] | None) -> tuple[Any, bool]:
    """One pass of Rasa's loop body: appends the state of the tracker as it stands (unless the turn is hidden);
    the loop's two variables after it."""
    if ignore_rule_only_turns:
        if not turn_was_hidden:
            last_ml_action = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and not tracker.latest_action_name == tracker.active_loop_name:
            turn_was_hidden = hide_rule_turn
        if turn_was_hidden:
            return last_ml_action, turn_was_hidden
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if states:
            domain._substitute_rule_only_user_input(state, states[-1])
        if last_ml_action:
            state[PREVIOUS_ACTION] = last_ml_action
    states.append(domain._clean_state(state))
    return last_ml_action, turn_was_hidden


def install() -> None:
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]


def uninstall() -> None:
    Domain.states_for_tracker_history = _rasa_states_for_tracker_history  # type: ignore[method-assign]
    _kept.clear()
