"""The console's in-process login limiter forgets addresses, so a scan of many addresses cannot grow it for ever."""
from __future__ import annotations

from web.console.auth import AttemptLimiter


def test_an_address_is_forgotten_a_minute_after_its_last_failure():
    limiter = AttemptLimiter()
    limiter.failed("10.0.0.1", now=100)
    assert limiter.addresses() == 1
    assert limiter.allow("10.0.0.1", 3, now=161)
    assert limiter.addresses() == 0


def test_many_addresses_are_swept_without_being_asked_about():
    limiter = AttemptLimiter()
    for n in range(AttemptLimiter.SWEEP_ABOVE + 10):
        limiter.failed(f"10.1.{n // 256}.{n % 256}", now=float(n) / 1000)
    limiter.failed("10.9.9.9", now=500)  # a minute and more later: every earlier address is stale
    assert limiter.addresses() == 1
    assert not limiter.allow("10.9.9.9", 1, now=501)
