"""The policies' state history carried on from the last prediction (runtime/state_history.py) gives exactly Rasa's
own states, on every prefix of every training story and rule, grown one event at a time as a conversation grows,
with and without the rule-only turns the memoization policy leaves out, and after rewinds."""
from __future__ import annotations

import itertools

import pytest
from rasa.shared.core.constants import RULE_ONLY_LOOPS, RULE_ONLY_SLOTS
from rasa.shared.core.events import ActionExecuted, ActionReverted, UserUtteranceReverted, UserUttered
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from kuanxin.core.settings import PROJECT_ROOT
from runtime import state_history


@pytest.fixture(scope="module")
def training():
    importer = TrainingDataImporter.load_from_config(str(PROJECT_ROOT / "config.yml"), str(PROJECT_ROOT / "domain.yml"),
                                                     [str(PROJECT_ROOT / "data")])
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0,
                                     use_story_concatenation=False, tracker_limit=None).generate()
    return domain, trackers


@pytest.fixture
def carried_on():
    state_history.install()
    yield
    state_history.uninstall()


def options(domain) -> list[dict]:
    rule_only = {RULE_ONLY_SLOTS: [slot.name for slot in domain.slots][:3],
                 RULE_ONLY_LOOPS: list(domain.form_names)[:2]}
    return [{}, {"omit_unset_slots": True}, {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
            {"ignore_rule_only_turns": True, "rule_only_data": None}]


def rasas(domain, tracker, **option):
    return state_history._rasa_states_for_tracker_history(domain, tracker, **option)


def grown_and_compared(domain, sender: str, events) -> int:
    """Feeds the events one at a time to one tracker, comparing both ways after each; how many comparisons."""
    live, compared = DialogueStateTracker(sender, domain.slots), 0
    every = options(domain)
    for event in events:
        live.update(event)
        for option in every:
            assert domain.states_for_tracker_history(live, **option) == rasas(domain, live, **option), \
                (sender, len(live.events), option)
            compared += 1
    return compared


def test_every_prefix_of_every_story_and_rule_gives_rasas_states(training, carried_on):
    domain, trackers = training
    compared = sum(grown_and_compared(domain, f"t{n}", tracker.events) for n, tracker in enumerate(trackers))
    assert len(trackers) > 50 and compared > 2000


def test_a_long_conversation_of_many_stories_with_rewinds_gives_rasas_states(training, carried_on):
    domain, trackers = training
    events = list(itertools.chain.from_iterable(t.events for t in trackers))[:300]
    # a rewind in the middle: what was applied changes, so the history is built again from the first event
    middle = len(events) // 2
    events[middle:middle] = [UserUttered("再说一遍", {"name": "nlu_fallback", "confidence": 0.2}),
                             UserUtteranceReverted(), ActionExecuted("action_listen"), ActionReverted()]
    assert grown_and_compared(domain, "long", events) == 4 * len(events)


def test_the_states_returned_are_the_callers_to_change(training, carried_on):
    domain, trackers = training
    tracker = max(trackers, key=lambda t: len(t.events))
    first = domain.states_for_tracker_history(tracker)
    for state in first:  # the featurizers delete keys from what they are given
        for sub_state in state.values():
            sub_state.clear()
    assert domain.states_for_tracker_history(tracker) == rasas(domain, tracker)


def test_conversations_are_kept_apart_and_the_oldest_dropped(training, carried_on, monkeypatch):
    domain, trackers = training
    monkeypatch.setattr(state_history, "KEPT", 3)
    for tracker in trackers[:6]:
        domain.states_for_tracker_history(tracker)
    assert len(state_history._kept) == 3
    for tracker in trackers[:6]:
        assert domain.states_for_tracker_history(tracker) == rasas(domain, tracker)
