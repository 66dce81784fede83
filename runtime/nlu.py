"""The tokenizer kuanxin's NLU pipeline uses (config.yml): jieba on text read the way borrowers mean it.

Borrowers type full-width digits (１３８), Traditional characters (還款, 逾期) and stray spaces; the
classifier should see the same words as for the plain form. Each character is normalised on its own
(NFKC, Traditional → Simplified, lower case) when that keeps it one character, so token offsets still
point into the original text and entity spans stay right; whitespace is never a token (Rasa issue
#7910 with the stock JiebaTokenizer). Dialect and chat-slang words (runtime/colloquial_zh.yml: 点解, 咋整,
俺, 886) reach the classifier as their Mandarin word, still at their own place in the text.
"""
from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack

from kuanxin.core import clock
from kuanxin.core.language import blank_markup
from kuanxin.core.zh_parse import SOMEONE_ELSE_CUE, normalize_text, plan_after_promise, plans_wanted


@functools.lru_cache(maxsize=8192)
def _plain(char: str) -> str:
    plain = normalize_text(char).lower() if not char.isspace() else char
    return plain if len(plain) == 1 else char


def same_length_plain(text: str) -> str:
    """The text with each character in its plain form, as long as the original."""
    return "".join(_plain(char) for char in text)


COLLOQUIAL_WORDS = Path(__file__).with_name("colloquial_zh.yml")


@functools.lru_cache(maxsize=1)
def colloquial_words() -> dict[str, str]:
    """Dialect and slang words → the Mandarin word the classifier sees; jieba keeps each one whole."""
    import jieba

    words = {str(k): str(v) for k, v in yaml.safe_load(COLLOQUIAL_WORDS.read_text(encoding="utf-8")).items()}
    for word in words:
        if not word.isascii():  # jieba already keeps a run of digits or letters whole; adding "88" would split "1880"
            jieba.add_word(word, freq=2000)
    return words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class PlainJiebaTokenizer(JiebaTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text = blank_markup(same_length_plain(message.get(attribute) or ""))
        mandarin = colloquial_words()
        tokens = [Token(mandarin.get(word, word), start, end)
                  for word, start, end in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)



@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TunedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's logistic regression with its regularisation strength `C` configurable (Rasa fixes it at 1).

    Borrowers' messages are short and their n-gram vectors sparse; a weaker penalty lets the rare
    but decisive words (月供, 结清, 律师函) count for more, which measured better on the held-out set.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage,
                 resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> TunedLogisticRegressionClassifier:
        component = super().load(*args, **kwargs)
        coef = getattr(component.clf, "coef_", None)
        if coef is not None:
            # scikit-learn multiplies the features by coef_.T; scipy copies a matrix that is not in row order
            # before multiplying (every class's weight for every feature, megabytes per message). Kept in
            # column order, coef_.T is in row order: the same numbers, the same products, no copy.
            component.clf.coef_ = np.asfortranarray(coef)
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        """A message of punctuation alone ("？？？", "。。。") says nothing: no intent is sure of it, so the
        FallbackClassifier after this one asks the borrower to say it again (instead of "I can't help with that").
        A request said with the hardship behind it is the request (request_with_its_reason), and so is a request
        said beside whether we are genuine (request_beside_legitimacy). A promise said before a plan asked for the rest
        is the promise, whose form then goes on to the plan (promise_beside_plan)."""
        messages = super().process(messages)
        for message in messages:
            if only_punctuation(message.get(TEXT) or ""):
                message.set("intent", {**message.get("intent"), "confidence": 0.0}, add_to_output=True)
            else:
                request_with_its_reason(message)
                request_beside_legitimacy(message)
                promise_beside_plan(message)
        return messages

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        """Rasa's matrix for these messages, built without its detour: Rasa deep-copies and stacks every
        featurizer's token *and* sentence features, one scipy hstack per featurizer, then keeps only the
        sentence ones. Stacking the sentence features once gives the same matrix (tests/unit/test_nlu_speed.py)
        in a fraction of the time (the classifier was the costliest step of a turn: bench.turns)."""
        return vstack([sentence_row(message) for message in messages], format="csr")


# "我想延期 现在失业了 没收入" splits the classifier between the request and the hardship (0.52 / 0.48), which the
# FallbackClassifier would call ambiguous ("没太明白"); both say the borrower wants the request, the hardship being
# its reason (the forms read it as such). Only a close call is merged: a hardship with a request far behind it
# ("我失业了 还不上") stays a hardship.
REQUESTS_WITH_REASONS = frozenset({"request_deferral", "request_installment", "request_penalty_waiver"})
REASON_INTENT = "state_hardship"
CLOSE_CALL = 0.2


def request_with_its_reason(message: Message) -> None:
    """When the two likeliest intents are a request and the hardship, within CLOSE_CALL of each other, the message
    is the request, with both confidences."""
    ranking = message.get(INTENT_RANKING_KEY) or []
    if len(ranking) < 2 or {ranking[0]["name"], ranking[1]["name"]} & REQUESTS_WITH_REASONS == set():
        return
    first, second = ranking[0], ranking[1]
    request, reason = (first, second) if first["name"] in REQUESTS_WITH_REASONS else (second, first)
    if reason["name"] != REASON_INTENT or abs(first["confidence"] - second["confidence"]) > CLOSE_CALL:
        return
    merged = {**request, "confidence": request["confidence"] + reason["confidence"]}
    message.set("intent", merged, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [merged, *ranking[2:]], add_to_output=True)


# "我想分期 每期多少 顺便问下你们是正规平台吗" reads as the legitimacy question (its words are the strongest), and the
# request would be lost: the message is the request, whose form answers the question first (actions/forms.py, by the
# words: kuanxin.core.zh_parse.LEGITIMACY_CUE), before asking for a phone number or for the plan's terms.
LEGITIMACY_INTENT = "ask_legitimacy"
PLAN_REQUESTS = {"deferral": "request_deferral", "installment": "request_installment"}


def request_beside_legitimacy(message: Message) -> None:
    """When the likeliest intent is the legitimacy question and the text asks for one plan (named, not refused), the
    message is that plan's request, with the question's confidence added (the question leaves the ranking)."""
    intent = message.get("intent") or {}
    text = message.get(TEXT) or ""
    wanted = plans_wanted(text)
    if intent.get("name") != LEGITIMACY_INTENT or len(wanted) != 1 or SOMEONE_ELSE_CUE.search(text):
        return  # "有人打电话让我分期 是不是骗子": someone else's offer, checked; no request of the borrower's
    read_as(message, PLAN_REQUESTS[wanted[0]])


# "我下个月5号还2000 剩下的能分期吗" reads as the installment request (its words are the strongest), and the promise
# would be lost: the message is the promise, whose form confirms and records it, then goes on to the plan asked for
# (actions/promise.py, by the words: kuanxin.core.zh_parse.plan_after_promise), before or after the identity check.
PROMISE_INTENT = "promise_to_pay"


def promise_beside_plan(message: Message) -> None:
    """When the likeliest intent is a plan request and the text promises a day and an amount before asking for the
    plan, the message is the promise, with the request's confidence added (the request leaves the ranking)."""
    intent = message.get("intent") or {}
    if intent.get("name") not in PLAN_REQUESTS.values():
        return
    if plan_after_promise(message.get(TEXT) or "", clock.today()) is None:
        return
    read_as(message, PROMISE_INTENT)


def read_as(message: Message, name: str) -> None:
    """The message is `name`, with the likeliest intent's confidence added to its own (that intent leaves the
    ranking)."""
    intent = message.get("intent") or {}
    ranking = message.get(INTENT_RANKING_KEY) or []
    chosen = next((r for r in ranking if r["name"] == name), {"name": name, "confidence": 0.0})
    merged = {**chosen, "confidence": chosen["confidence"] + intent["confidence"]}
    others = [r for r in ranking if r["name"] not in (name, intent.get("name"))]
    message.set("intent", merged, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [merged, *others], add_to_output=True)


def only_punctuation(text: str) -> bool:
    """Punctuation and spaces only (an emoji is a symbol, not punctuation: "👍" still means something)."""
    return bool(text.strip()) and all(unicodedata.category(char)[0] in "PZ" or char.isspace() for char in text)


def _sentence_features(message: Message) -> list[Features]:
    return [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]


def sentence_width(message: Message) -> int:
    """How many sentence features the message's text has (0: nothing for the classifier to go on)."""
    return sum(f.features.shape[-1] for f in _sentence_features(message))


def sentence_row(message: Message) -> csr_matrix:
    """One row: the sparse sentence features in pipeline order, then the dense ones, as Rasa orders them."""
    features = _sentence_features(message)
    dense = [f.features for f in features if f.is_dense()]
    blocks = [f.features for f in features if f.is_sparse()]
    if dense:
        blocks.append(csr_matrix(np.concatenate(dense, axis=-1)))
    # float64 as Rasa's own matrix (its empty dense block makes scipy upcast to it)
    return hstack(blocks, format="csr", dtype=np.float64) if blocks else csr_matrix((1, 0))
