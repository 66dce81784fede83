"""The classifier's faster feature matrix (runtime.nlu) is exactly Rasa's, and featureless messages are still
told apart (runtime.main) without building a matrix."""
import numpy as np
import pytest
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import coo_matrix
from scipy.sparse import random as sparse_random

from runtime import main as runtime_main
from runtime import nlu
from runtime.main import _classify_unless_featureless


def featurized(tokens: int, widths: list[int], seed: int, dense: int = 0, other_attribute: bool = True) -> Message:
    """A message as the pipeline leaves it: per featurizer, token and sentence features (integer counts
    in float, as CountVectorsFeaturizer makes them), optionally a dense sentence featurizer, and features
    of another attribute that must be ignored."""
    rng = np.random.default_rng(seed)
    message = Message(data={TEXT: "我逾期了多少钱"})
    for n, width in enumerate(widths):
        origin = f"featurizer{n}"
        rows = sparse_random(tokens, width, density=0.3, random_state=seed + n, format="coo")
        message.add_features(Features(coo_matrix(np.ceil(rows.toarray() * 3)), FEATURE_TYPE_SEQUENCE, TEXT, origin))
        sentence = coo_matrix(np.ceil(rows.toarray() * 3).sum(axis=0, keepdims=True))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, origin))
    if dense:
        message.add_features(Features(rng.random((1, dense)), FEATURE_TYPE_SENTENCE, TEXT, "dense"))
    if other_attribute:
        message.add_features(Features(coo_matrix(np.ones((1, 4))), FEATURE_TYPE_SENTENCE, "intent", "other"))
    return message


CASES = [
    ([featurized(5, [30, 12, 7, 40], seed=1)], "four sparse featurizers"),
    ([featurized(1, [3], seed=2)], "one featurizer, one token"),
    ([featurized(4, [9, 11], seed=3, dense=6)], "sparse and dense"),
    ([featurized(3, [10, 5], seed=s) for s in range(4, 9)], "several messages"),
]


@pytest.mark.parametrize(("messages", "case"), CASES, ids=[c for _, c in CASES])
def test_the_matrix_is_rasas(messages, case):
    rasas = LogisticRegressionClassifier._create_X(None, messages)
    ours = nlu.TunedLogisticRegressionClassifier._create_X(None, messages)
    assert ours.shape == rasas.shape
    assert ours.dtype == rasas.dtype == np.float64
    assert (ours != rasas).nnz == 0
    assert ours.format == "csr"


def test_no_features_is_an_empty_row_like_rasas():
    bare = Message(data={TEXT: ""})
    assert nlu.TunedLogisticRegressionClassifier._create_X(None, [bare]).shape == (1, 0)
    assert LogisticRegressionClassifier._create_X(None, [bare]).shape == (1, 0)
    assert nlu.sentence_width(bare) == 0
    assert nlu.sentence_width(featurized(2, [4, 6], seed=9, dense=3)) == 13


def test_featureless_message_gets_no_intent_and_the_rest_are_classified(monkeypatch):
    classified = []
    monkeypatch.setattr(runtime_main, "_classify", lambda _self, messages: classified.extend(messages) or messages)
    bare, full = Message(data={TEXT: " "}), featurized(2, [4], seed=10)
    _classify_unless_featureless(None, [bare, full])
    assert bare.get("intent") == {"name": None, "confidence": 0.0}
    assert bare.get("intent_ranking") == []
    assert classified == [full]
