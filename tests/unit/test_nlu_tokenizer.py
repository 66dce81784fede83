"""The NLU tokenizer reads full-width and Traditional text as its plain form, offsets unchanged."""
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from runtime.nlu import PlainJiebaTokenizer, same_length_plain


def tokens_of(text: str) -> list[tuple[str, int, int]]:
    tokenizer = PlainJiebaTokenizer(PlainJiebaTokenizer.get_default_config(), None, None)
    return [(t.text, t.start, t.end) for t in tokenizer.tokenize(Message({TEXT: text}), TEXT)]


def test_plain_form_keeps_every_offset():
    for text in ["我想還款", "手機號１３８１２３４５６７８", "逾期 了 ３天", "ＡＢＣ你好"]:
        plain = same_length_plain(text)
        assert len(plain) == len(text)
    assert same_length_plain("還款１３８Ｘ") == "还款138x"


def test_traditional_and_full_width_give_the_plain_tokens_at_the_original_places():
    traditional, simplified = tokens_of("我想申請分期還款"), tokens_of("我想申请分期还款")
    assert [t[0] for t in traditional] == [t[0] for t in simplified]
    text = "电话 １３８１２３４５６７８"
    for word, start, end in tokens_of(text):
        assert same_length_plain(text[start:end]) == word


def test_whitespace_is_never_a_token():
    assert all(word.strip() for word, _s, _e in tokens_of("逾期   多少  钱 "))


def test_dialect_and_slang_words_reach_the_classifier_in_mandarin_at_their_own_place():
    text = "点解要还咁多 俺不晓得"
    tokens = tokens_of(text)
    words = [word for word, _s, _e in tokens]
    assert words[:1] == ["为什么"] and "这么" in words and "我" in words and "知道" in words
    assert [text[start:end] for _w, start, end in tokens if _w == "为什么"] == ["点解"]
    assert [w for w, _s, _e in tokens_of("好滴 886")] == ["好的", "拜拜"]


def test_words_with_a_mandarin_meaning_are_left_alone():
    assert "系统" in [word for word, _s, _e in tokens_of("系统显示我逾期了")]
    assert "888" in [word for word, _s, _e in tokens_of("先还888块")]


def test_an_amount_with_eights_stays_one_number():
    assert [w for w, _s, _e in tokens_of("还1880块")] == ["还", "1880", "块"]
    assert [w for w, _s, _e in tokens_of("88")] == ["拜拜"]


def test_markup_beside_words_is_not_a_token_and_markup_alone_stays():
    text = "<script>alert(1)</script> 我想分期"
    tokens = tokens_of(text)
    assert [w for w, _s, _e in tokens] == [w for w, _s, _e in tokens_of("我想分期")]
    assert all(text[start:end] == word for word, start, end in tokens)  # offsets into the original text
    link = [w for w, _s, _e in tokens_of('<a href="x">点我</a>&nbsp;还款')]
    assert link == [w for w, _s, _e in tokens_of("点我 还款")]
    assert "script" in [w for w, _s, _e in tokens_of("<script>alert(1)</script>")]  # out_of_scope learns it
