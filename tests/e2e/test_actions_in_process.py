"""The same conversations get the same answers whether the actions run in Rasa's process (KUANXIN_ACTIONS=
in-process, the default) or on an action server beside it (the shared end-to-end servers run one, behind the
slow-action proxy): forms with values refused and asked again, a change of mind, a plan agreed, a person asked for.
The two sets of servers have account databases of their own, each loaded with the demo book."""
from __future__ import annotations

import re

import pytest

from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from testkit.servers import Borrower, demo_servers

CONVERSATIONS = [
    ["你好", "我逾期了多少钱", "1381234567", "13812345678", "12", "123X", "在哪里还款", "谢谢"],
    ["我想分期", "13812345678 123X", "分几期好 手续费多少", "分6期", "算了 还是延期吧", "3个月", "我同意"],
    ["我想延期", "13812345678", "123X", "延期会影响征信吗", "两个月", "取消", "我要找人工"],
    ["下个月5号还2000", "13900001111 4567", "下个月5号", "2000", "对"],
]
# what differs between two runs by design: reference numbers, links with their signatures
VARYING = re.compile(r"[A-Z]{2}\d{8}-[0-9A-Z]+|https?://\S+")


@pytest.fixture(scope="module")
def in_process_servers(tmp_path_factory):
    running = demo_servers(tmp_path_factory.mktemp("in-process"))
    try:
        yield running
    finally:
        running.stop()


def replies(servers, script: list[str]) -> list[str]:
    borrower = Borrower(servers)
    return [VARYING.sub("…", borrower.say(text)) + f" {borrower.buttons()}" for text in script]


@pytest.mark.parametrize("script", CONVERSATIONS, ids=lambda script: script[0])
def test_answers_are_the_same_with_the_actions_in_process_or_on_a_server(script, in_process_servers, servers, db):
    assert in_process_servers.actions_in_process and not servers.actions_in_process
    assert "actions" not in in_process_servers.names()
    load_document(in_process_servers.database, demo_document())
    here, beside = replies(in_process_servers, script), replies(servers, script)
    assert all(here) and here == beside
