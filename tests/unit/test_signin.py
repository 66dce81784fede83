"""Checking the lender's signed borrower tokens: only a valid, unexpired HS256 token names a borrower."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from kuanxin.core.signin import ResumeKeys, borrower_from_token, sign_borrower_token

SECRET = "lender-shared-secret-for-tests-0123456789"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict, claims: dict, key: bytes = SECRET.encode(), digest=hashlib.sha256) -> str:
    """A token assembled by hand, so headers PyJWT itself would refuse to write can be tried."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims(**overrides):
    now = int(time.time())
    return {"sub": "B1001", "iat": now, "exp": now + 300, **overrides}


def test_a_fresh_token_names_its_borrower():
    assert borrower_from_token(sign_borrower_token("B1001", SECRET), SECRET) == "B1001"
    assert borrower_from_token(handmade({"alg": "HS256", "typ": "JWT"}, claims()), SECRET) == "B1001"


def test_an_expired_token_is_refused():
    issued_long_ago = time.time() - 3600
    assert borrower_from_token(sign_borrower_token("B1001", SECRET, 600, issued_long_ago), SECRET) is None


def test_a_token_signed_with_another_key_is_refused():
    assert borrower_from_token(sign_borrower_token("B1001", "someone-elses-key-0123456789abcdef"), SECRET) is None


def test_a_tampered_payload_is_refused():
    header, _, signature = sign_borrower_token("B1001", SECRET).split(".")
    forged = f"{header}.{b64(json.dumps(claims(sub='B1002')).encode())}.{signature}"
    assert borrower_from_token(forged, SECRET) is None


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_other_hmac_algorithms_are_refused_even_with_the_right_key(algorithm):
    token = jwt.encode(claims(), SECRET, algorithm=algorithm)
    assert borrower_from_token(token, SECRET) is None


def test_the_none_algorithm_is_refused():
    unsigned = f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}."
    assert borrower_from_token(unsigned, SECRET) is None


def test_an_rs256_header_is_refused():
    # the classic confusion attack: an asymmetric header with the shared secret as the "public key"
    assert borrower_from_token(handmade({"alg": "RS256", "typ": "JWT"}, claims()), SECRET) is None


@pytest.mark.parametrize("missing", ["exp", "sub"])
def test_a_token_without_expiry_or_subject_is_refused(missing):
    payload = claims()
    del payload[missing]
    assert borrower_from_token(handmade({"alg": "HS256", "typ": "JWT"}, payload), SECRET) is None


@pytest.mark.parametrize("subject", ["", 1001, "x" * 65])
def test_a_strange_subject_is_refused(subject):
    assert borrower_from_token(handmade({"alg": "HS256", "typ": "JWT"}, claims(sub=subject)), SECRET) is None


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c", "x" * 10_000, 12345, {"sub": "B1001"}])
def test_garbage_is_refused_quietly(token):
    assert borrower_from_token(token, SECRET) is None


def test_no_secret_configured_refuses_everything():
    assert borrower_from_token(sign_borrower_token("B1001", SECRET), "") is None


def test_a_session_resumes_only_with_its_own_credential():
    keys = ResumeKeys(SECRET)
    session = keys.new_session_id()
    credential = keys.credential(session, None)
    assert keys.session_to_resume(credential, None) == session
    other = keys.new_session_id()
    assert other != session and len(session) >= 32
    # naming another session id with this session's MAC, or a made-up MAC, proves nothing
    assert keys.session_to_resume(f"{other}.{credential.split('.')[1]}", None) is None
    assert keys.session_to_resume(f"{session}.{'0' * 32}", None) is None
    assert ResumeKeys("another-deployment-secret").session_to_resume(credential, None) is None


def test_a_signed_in_session_resumes_only_for_the_same_borrower():
    keys = ResumeKeys(SECRET)
    session = keys.new_session_id()
    credential = keys.credential(session, "B1001")
    assert keys.session_to_resume(credential, "B1001") == session
    assert keys.session_to_resume(credential, "B1002") is None
    assert keys.session_to_resume(credential, None) is None  # signed out: no way back into it
    assert keys.session_to_resume(keys.credential(session, None), "B1001") is None


@pytest.mark.parametrize("credential", [None, "", ".", "abc", "a.b.c", "x" * 500, 42, ["a", "b"]])
def test_malformed_credentials_resume_nothing(credential):
    assert ResumeKeys(SECRET).session_to_resume(credential, None) is None
