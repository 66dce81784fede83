"""What the web chat channel sends to the widget: one message per bot turn, staff replies marked."""
from channels.webchat import history_of, widget_message


def test_a_bot_message_with_buttons_becomes_text_and_quick_replies():
    message = {"text": "确认提交吗?", "buttons": [{"title": "确认", "payload": "/affirm"},
                                              {"title": "取消", "payload": "/deny"}]}
    assert widget_message(message) == {"text": "确认提交吗?", "lang": "zh", "quick_replies": [
        {"title": "确认", "payload": "/affirm"}, {"title": "取消", "payload": "/deny"}]}


def test_a_bot_message_names_its_language_when_its_text_tells():
    assert widget_message({"text": "Here are your loans as of 6 December 2026:"})["lang"] == "en"
    assert widget_message({"text": "您名下借款情况如下"})["lang"] == "zh"
    assert "lang" not in widget_message({"text": "3,084.60"})
    assert "lang" not in widget_message({"text": ""})


def test_a_staff_reply_is_one_message_naming_the_staff_member():
    message = {"text": "您好,我来帮您处理。", "custom": {"kuanxin_staff": {"name": "王小明"}}}
    assert widget_message(message) == {"text": "您好,我来帮您处理。", "lang": "zh", "staff": {"name": "王小明"}}
    assert widget_message({"text": "x", "custom": {"kuanxin_staff": {}}})["staff"] == {"name": "工作人员"}
    assert "staff" not in widget_message({"text": "x", "custom": {"something": "else"}})


def test_history_keeps_only_what_the_borrower_saw():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "slot", "name": "verified", "value": True},
        {"event": "bot", "text": "您好!", "data": {"buttons": [{"title": "查欠款", "payload": "/check_overdue"}]}},
        {"event": "user", "text": ""},
        {"event": "bot", "text": "稍等", "data": {"custom": {"kuanxin_staff": {"name": "李"}}}},
    ]
    assert history_of(events) == [
        {"from": "user", "text": "你好"},
        {"from": "bot", "text": "您好!", "lang": "zh",
         "quick_replies": [{"title": "查欠款", "payload": "/check_overdue"}]},
        {"from": "bot", "text": "稍等", "lang": "zh", "staff": {"name": "李"}},
    ]


def test_history_is_capped():
    events = [{"event": "user", "text": f"消息{i}"} for i in range(500)]
    history = history_of(events)
    assert len(history) == 200 and history[-1]["text"] == "消息499"


def test_only_known_blocks_with_plain_values_reach_the_widget():
    from channels.webchat import widget_message
    custom = {"blocks": [
        {"type": "text", "text": "分6期的还款计划如下:"},
        {"type": "schedule", "caption": "还款计划", "columns": ["期数", "还款日", "金额", {"x": 1}],
         "rows": [{"period": 1, "label": "第1期", "day": "2026年12月22日", "shown": "514.10元", "extra": "<b>"},
                  "not a row"]},
        {"type": "amounts", "title": "【借款L1001】已逾期45天", "onclick": "x",
         "rows": [{"label": "罚息", "shown": "12.00元", "note": {"html": "<i>"}, "total": False},
                  {"label": "合计应还", "shown": "3,000.00元", "note": "", "total": True}]},
        {"type": "html", "html": "<script>alert(1)</script>"}, "junk", {"type": "text", "text": 5},
    ]}
    payload = widget_message({"text": "分6期……", "custom": custom})
    assert payload["blocks"] == [
        {"type": "text", "text": "分6期的还款计划如下:"},
        {"type": "schedule", "caption": "还款计划", "columns": ["期数", "还款日", "金额"],
         "rows": [{"period": "1", "label": "第1期", "day": "2026年12月22日", "shown": "514.10元"}]},
        {"type": "amounts", "title": "【借款L1001】已逾期45天",
         "rows": [{"label": "罚息", "shown": "12.00元", "note": "", "total": False},
                  {"label": "合计应还", "shown": "3,000.00元", "note": "", "total": True}]},
    ]
    assert "blocks" not in widget_message({"text": "hi", "custom": {"blocks": "nope"}})
    assert "blocks" not in widget_message({"text": "hi", "custom": ["x"]})
