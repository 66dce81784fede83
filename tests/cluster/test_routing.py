"""Which instances nginx sends conversations to, from their readiness probes, and the upstream it gets."""
from __future__ import annotations

from pathlib import Path

from kuanxin.ops.cluster import BUSY, DEAD, FAILING, READY, Routing, nginx_conf


def test_a_dead_instance_is_taken_out_at_once_and_a_failing_one_after_two_probes():
    routing = Routing(3)
    assert routing.update([READY, READY, READY]) == [] and routing.up == [True, True, True]
    assert routing.update([DEAD, FAILING, READY]) == [0] and routing.up == [False, True, True]
    assert routing.update([DEAD, FAILING, READY]) == [1] and routing.up == [False, False, True]
    assert routing.update([READY, READY, READY]) == [0, 1] and routing.up == [True, True, True]
    assert [(index, up) for _, index, up in routing.changes] == [(0, False), (1, False), (0, True), (1, True)]


def test_one_slow_answer_moves_no_conversation():
    routing = Routing(2)
    for _ in range(5):
        assert routing.update([FAILING, READY]) == []
        assert routing.update([READY, READY]) == []


def test_a_busy_instance_stays_in_until_it_has_not_answered_five_times_in_a_row():
    routing = Routing(2)
    for _ in range(4):
        assert routing.update([BUSY, READY]) == []
    assert routing.update([FAILING, READY]) == []  # another kind of trouble counts from 1 again
    assert routing.update([BUSY, READY]) == []
    for _ in range(4):
        routing.update([BUSY, READY])
    assert routing.up == [False, True] and "no answer to /ready" in routing.reason(0)


def test_with_none_ready_nginx_may_try_them_all():
    routing = Routing(2)
    routing.update([DEAD, READY])
    assert routing.update([DEAD, DEAD]) == [0] and routing.up == [True, True]


def test_the_upstream_marks_instances_down_and_keeps_them_in_the_hash_ring():
    conf = nginx_conf(Path("/tmp/x"), 8080, 8081, "127.0.0.1:8000", ["127.0.0.1:5005", "127.0.0.1:5006"],
                      down=[True, False])
    assert "server 127.0.0.1:5005 max_fails=1 fail_timeout=5s down;" in conf
    assert "server 127.0.0.1:5006 max_fails=1 fail_timeout=5s;" in conf
    assert "hash $arg_sender$arg_openid$arg_route$conversation_key consistent;" in conf
    public = conf[conf.index("listen 127.0.0.1:8080;"):conf.index("listen 127.0.0.1:8081;")]
    assert "return 404;" in public and "(model|conversations|status|version|domain|ready|live)" in public
    assert "location /webhooks/" in public and "location /socket.io/" in public


def test_an_instance_without_news_keeps_its_routing():
    routing = Routing(2)
    routing.update([FAILING, READY])
    assert routing.update([None, None]) == [] and routing.up == [True, True]  # a slow probe is not a second failure
    assert routing.update([FAILING, None]) == [0] and routing.up == [False, True]
    assert routing.update([None, None]) == [] and routing.up == [False, True]
