"""The rules that can still apply to a conversation, found without re-reading every rule each time.

For each prediction (two to four a turn) RulePolicy._get_possible_keys takes every rule it learned, turns
its JSON key back into states (kept in an LRU cache), reverses them into a new list, and checks the newest
rule state against the conversation's newest state, comparing value by value with a tuple made from each
list value as it goes; then the next older state for the rules left. Profiled over whole turns
(bench.turns), that first pass over all the rules was a tenth of a turn's time.

Here each rule is read once: its states newest first, each reduced to what it requires (a value the
conversation must have, or a value it must not have; a falsy value requires nothing, as in Rasa), and the
rules are grouped by the previous action their newest state requires, so the first pass looks only at the
rules naming the conversation's previous action and those naming none. The checks are Rasa's, in the same
order; the keys returned are the same set (tests/e2e/test_rule_keys.py compares them with Rasa's on every
prefix of every training story and rule).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import ACTION_NAME

Requirement = tuple[str, str, Any, bool]  # state type, key, value, whether the value must be unset
Rule = tuple[str, tuple[tuple[bool, tuple[Requirement, ...]], ...]]  # key; per state newest first: has a
# previous action, what it requires


def requirements(rule_state: State) -> tuple[Requirement, ...]:
    """What RulePolicy._does_rule_match_state checks of a rule state, in its order."""
    found = []
    for state_type, sub_state in rule_state.items():
        for key, value in sub_state.items():
            value = tuple(value) if isinstance(value, list) else value  # JSON made tuples lists
            if value:
                found.append((state_type, key, value, value == SHOULD_NOT_BE_SET))
    return tuple(found)


def matches(required: tuple[Requirement, ...], state: State) -> bool:
    for state_type, key, value, must_be_unset in required:
        got = state.get(state_type, {}).get(key)
        if must_be_unset:
            if got and got != SHOULD_NOT_BE_SET:
                return False
        elif got != value:
            return False
    return True


def applicable(rule: Rule, turn_index: int, state: State) -> bool:
    """RulePolicy._is_rule_applicable of the rule at turn_index (0: the newest state) against `state`."""
    states = rule[1]
    if turn_index >= len(states):
        return True
    has_previous_action, required = states[turn_index]
    if not has_previous_action or not state.get(PREVIOUS_ACTION):
        return not has_previous_action and not state.get(PREVIOUS_ACTION)
    return matches(required, state)


class Rules:
    """A lookup's rules, read once, grouped by the previous action their newest state requires."""

    def __init__(self, lookup: dict[str, Any]) -> None:
        self.lookup, self.keys = lookup, tuple(lookup)
        self.by_previous_action: dict[str | None, list[Rule]] = defaultdict(list)
        for key in self.keys:
            states = [(bool(state.get(PREVIOUS_ACTION)), requirements(state))
                      for state in reversed(RulePolicy._rule_key_to_state(key))]
            rule: Rule = (key, tuple(states))
            self.by_previous_action[self.required_action(rule)].append(rule)

    @staticmethod
    def required_action(rule: Rule) -> str | None:
        for state_type, key, value, must_be_unset in (rule[1][0][1] if rule[1] else ()):
            if state_type == PREVIOUS_ACTION and key == ACTION_NAME and not must_be_unset:
                return value
        return None

    def describe(self, lookup: dict[str, Any]) -> bool:
        return lookup is self.lookup and tuple(lookup) == self.keys

    def possible(self, states: list[State]) -> set[str]:
        if not states:
            return set(self.keys)
        newest = states[-1]
        action = newest.get(PREVIOUS_ACTION, {}).get(ACTION_NAME)
        candidates = self.by_previous_action[None] + (self.by_previous_action.get(action, []) if action else [])
        for turn_index, state in enumerate(reversed(states)):
            candidates = [rule for rule in candidates if applicable(rule, turn_index, state)]
        return {key for key, _ in candidates}


def possible_keys(self: RulePolicy, lookup: dict[str, Any], states: list[State]) -> set[str]:
    """RulePolicy._get_possible_keys, with each lookup's rules read once (see the module's docstring)."""
    held: dict[int, Rules] = self.__dict__.setdefault("_kuanxin_rules", {})
    rules = held.get(id(lookup))
    if rules is None or not rules.describe(lookup):  # training changes a lookup: read it again
        rules = held[id(lookup)] = Rules(lookup)
    return rules.possible(states)


def install() -> None:
    RulePolicy._get_possible_keys = possible_keys  # type: ignore[method-assign]
