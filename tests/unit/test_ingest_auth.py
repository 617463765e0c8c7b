"""Signatures both ways: a correctly signed body passes; a changed byte, another secret, a stale
or future timestamp, a missing header, a wrong token are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processor.ingest.signatures import (
    AuthError,
    check_bearer,
    check_jira,
    check_zendesk,
    sign_jira,
    sign_zendesk,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAMP = "2026-03-02T09:00:00Z"
BODY = b'{"type":"zen:event-type:ticket.created","id":"1"}'


def test_zendesk_signature_matches_the_documented_formula() -> None:
    # base64(HMACSHA256(TIMESTAMP + BODY)), computed independently here
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"s3cret", STAMP.encode() + BODY, hashlib.sha256).digest()
    ).decode()
    assert sign_zendesk("s3cret", STAMP, BODY) == expected
    check_zendesk("s3cret", expected, STAMP, BODY, NOW, 300)


@pytest.mark.parametrize(
    ("secret", "body", "stamp", "reason"),
    [
        ("other", BODY, STAMP, "bad_signature"),
        ("s3cret", BODY + b" ", STAMP, "bad_signature"),
        ("s3cret", BODY, "2026-03-02T09:00:01Z", "bad_signature"),  # timestamp is signed
    ],
)
def test_zendesk_refuses_a_signature_that_does_not_match(
    secret: str, body: bytes, stamp: str, reason: str
) -> None:
    signature = sign_zendesk("s3cret", STAMP, BODY)
    with pytest.raises(AuthError) as err:
        check_zendesk(secret, signature, stamp, body, NOW, 300)
    assert err.value.reason == reason


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_zendesk_refuses_stale_or_future_timestamps_even_when_signed(offset: timedelta) -> None:
    stamp = (NOW + offset).isoformat().replace("+00:00", "Z")
    signature = sign_zendesk("s3cret", stamp, BODY)
    with pytest.raises(AuthError) as err:
        check_zendesk("s3cret", signature, stamp, BODY, NOW, 300)
    assert err.value.reason == "stale_timestamp"
    check_zendesk("s3cret", signature, stamp, BODY, NOW, 400)


def test_zendesk_missing_headers() -> None:
    with pytest.raises(AuthError) as err:
        check_zendesk("s3cret", None, STAMP, BODY, NOW, 300)
    assert err.value.reason == "missing_signature"


def test_jira_hub_signature_both_ways() -> None:
    import hashlib
    import hmac

    signature = sign_jira("jira-secret", BODY)
    assert signature == "sha256=" + hmac.new(b"jira-secret", BODY, hashlib.sha256).hexdigest()
    check_jira("jira-secret", signature, BODY)
    for bad in (signature[:-1] + "0", sign_jira("other", BODY), "sha1=" + signature[7:], None):
        with pytest.raises(AuthError):
            check_jira("jira-secret", bad, BODY)
    with pytest.raises(AuthError):
        check_jira("jira-secret", signature, BODY + b"\n")


def test_bearer_token() -> None:
    check_bearer("tok", "Bearer tok")
    for bad in (None, "", "tok", "Bearer", "Bearer tok2", "Basic tok", "bearer tok"):
        with pytest.raises(AuthError):
            check_bearer("tok", bad)
