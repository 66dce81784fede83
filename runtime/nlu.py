"""The tokenizer kuanxin's NLU pipeline uses (config.yml): jieba on text read the way borrowers mean it.

Borrowers type full-width digits (１３８), Traditional characters (還款, 逾期) and stray spaces; the
classifier should see the same words as for the plain form. Each character is normalised on its own
(NFKC, Traditional → Simplified, lower case) when that keeps it one character, so token offsets still
point into the original text and entity spans stay right; whitespace is never a token (Rasa issue
#7910 with the stock JiebaTokenizer).
"""
from __future__ import annotations

import functools

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from kuanxin.core.zh_parse import normalize_text


@functools.lru_cache(maxsize=8192)
def _plain(char: str) -> str:
    plain = normalize_text(char).lower() if not char.isspace() else char
    return plain if len(plain) == 1 else char


def same_length_plain(text: str) -> str:
    """The text with each character in its plain form, as long as the original."""
    return "".join(_plain(char) for char in text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class PlainJiebaTokenizer(JiebaTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text = same_length_plain(message.get(attribute) or "")
        tokens = [Token(word, start) for word, start, _end in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)

