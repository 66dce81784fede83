"""runtime.rule_keys finds exactly the rules Rasa's RulePolicy._get_possible_keys finds, for the trained model's
rules, on every prefix of every training story and rule (with intents and with the user's text, inside and
outside forms), and reads a lookup again when it changes."""
from __future__ import annotations

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from kuanxin.core.settings import PROJECT_ROOT
from runtime import rule_keys
from testkit.servers import MODEL

rasas_possible_keys = RulePolicy._get_possible_keys


@pytest.fixture(scope="module")
def trained():
    agent = Agent.load(str(MODEL))
    nodes = agent.processor.graph_runner._instantiated_nodes.values()  # type: ignore[union-attr]
    policy = next(node._component for node in nodes if isinstance(node._component, RulePolicy))
    importer = TrainingDataImporter.load_from_config(str(PROJECT_ROOT / "config.yml"), str(PROJECT_ROOT / "domain.yml"),
                                                     [str(PROJECT_ROOT / "data")])
    trackers = TrainingDataGenerator(importer.get_stories(), agent.domain, augmentation_factor=0,
                                     use_story_concatenation=False, tracker_limit=None).generate()
    return policy, agent.domain, trackers


def test_every_prefix_of_every_story_and_rule_finds_rasas_rules(trained):
    policy, domain, trackers = trained
    lookups = [policy.lookup[RULES], policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]]
    compared = found = 0
    # each story and rule alone, then one long conversation of many of them one after another
    conversations = [list(tracker.events) for tracker in trackers]
    conversations.append([event for tracker in trackers[::3] for event in tracker.events][:400])
    for n, events in enumerate(conversations):
        live = DialogueStateTracker(f"t{n}", domain.slots)
        for event in events:
            live.update(event)
            for use_text in (False, True):
                states = policy._prediction_states(live, domain, use_text,
                                                   rule_only_data=policy._get_rule_only_data())
                for lookup in lookups:
                    expected = rasas_possible_keys(policy, lookup, states)
                    assert rule_keys.possible_keys(policy, lookup, states) == expected, (n, len(live.events))
                    compared, found = compared + 1, found + bool(expected)
    assert len(trackers) > 50 and compared > 3000 and found > 600


def test_a_changed_lookup_is_read_again(trained):
    policy, domain, trackers = trained
    lookup = dict(policy.lookup[RULES])
    tracker = max(trackers, key=lambda t: len(t.events))
    states = policy._prediction_states(tracker, domain)
    before = rule_keys.possible_keys(policy, lookup, states)
    assert before
    for key in before:
        del lookup[key]
    assert rule_keys.possible_keys(policy, lookup, states) == set() == rasas_possible_keys(policy, lookup, states)
