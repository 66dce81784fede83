"""Standard Webhooks signatures: the specification's own example, and every way a request can fail."""
from __future__ import annotations

import pytest

from kuanxin.core.webhooks import WebhookError, signature, signed_headers, verify

# the example of the Standard Webhooks specification
SECRET, MSG_ID, STAMP = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
BODY = b'{"test": 2432232314}'


def test_the_specifications_example_signs_to_its_value():
    assert signature(SECRET, MSG_ID, STAMP, BODY) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_signed_request_verifies_and_names_its_id():
    headers = signed_headers(SECRET, MSG_ID, BODY, now=STAMP)
    assert verify(SECRET, headers, BODY, now=STAMP + 299) == MSG_ID
    # several signatures (a secret being rotated): any valid one will do
    rotating = {**headers, "webhook-signature": "v1,bm90IGl0 " + headers["webhook-signature"]}
    assert verify(SECRET, rotating, BODY, now=STAMP) == MSG_ID


@pytest.mark.parametrize("change, problem", [
    (lambda h: {**h, "webhook-signature": "v1,AAAA"}, "no valid signature"),
    (lambda h: {k: v for k, v in h.items() if k != "webhook-id"}, "are required"),
    (lambda h: {**h, "webhook-timestamp": "soon"}, "whole seconds"),
    (lambda h: {**h, "webhook-timestamp": str(STAMP - 301)}, "5-minute window"),
    (lambda h: {**h, "webhook-id": "msg_other"}, "no valid signature"),
])
def test_a_changed_or_incomplete_request_is_refused(change, problem):
    headers = change(signed_headers(SECRET, MSG_ID, BODY, now=STAMP))
    with pytest.raises(WebhookError, match=problem):
        verify(SECRET, headers, BODY, now=STAMP)


def test_a_changed_body_or_another_secret_is_refused():
    headers = signed_headers(SECRET, MSG_ID, BODY, now=STAMP)
    with pytest.raises(WebhookError):
        verify(SECRET, headers, BODY + b" ", now=STAMP)
    with pytest.raises(WebhookError):
        verify("whsec_" + "A" * 44, headers, BODY, now=STAMP)
    with pytest.raises(WebhookError, match="base64"):
        verify("whsec_not base64!", headers, BODY, now=STAMP)
