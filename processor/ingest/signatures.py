"""Request authenticity: Zendesk's and Jira's HMAC signatures and the `/events` bearer token.

Every comparison is `hmac.compare_digest` (constant time). Zendesk signs the signature timestamp
followed by the raw body; a timestamp further than the tolerance from now is refused, so a
captured request cannot be replayed later. Jira (admin webhooks with a secret) sends
`X-Hub-Signature: sha256=<hex HMAC of the raw body>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

__all__ = [
    "AuthError",
    "check_bearer",
    "check_jira",
    "check_zendesk",
    "sign_jira",
    "sign_zendesk",
]


class AuthError(Exception):
    """The request is not authentic; `reason` is a bounded metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def sign_zendesk(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Zendesk-Webhook-Signature` for a body: base64(HMAC-SHA256(timestamp + body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_zendesk(
    secret: str,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: datetime,
    tolerance: float,
) -> None:
    """Raise `AuthError` unless the signature matches and the timestamp is recent."""
    if not signature or not timestamp:
        raise AuthError("missing_signature", "X-Zendesk-Webhook-Signature(-Timestamp) missing")
    expected = sign_zendesk(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise AuthError("bad_signature", "X-Zendesk-Webhook-Signature does not match the body")
    try:
        stamped = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise AuthError("stale_timestamp", "signature timestamp is not a timestamp") from None
    if stamped.tzinfo is None:
        stamped = stamped.replace(tzinfo=UTC)
    if abs((now - stamped).total_seconds()) > tolerance:
        raise AuthError("stale_timestamp", f"signature timestamp is more than {tolerance:g}s off")


def sign_jira(secret: str, body: bytes) -> str:
    """`X-Hub-Signature` for a body: `sha256=` + hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_jira(secret: str, signature: str | None, body: bytes) -> None:
    """Raise `AuthError` unless `X-Hub-Signature` is the body's sha256 HMAC."""
    if not signature:
        raise AuthError("missing_signature", "X-Hub-Signature missing")
    if not hmac.compare_digest(sign_jira(secret, body).encode(), signature.strip().encode()):
        raise AuthError("bad_signature", "X-Hub-Signature does not match the body")


def check_bearer(token: str, authorization: str | None) -> None:
    """Raise `AuthError` unless the header is `Bearer <token>`."""
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    if scheme != "Bearer" or not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthError("bad_token", "Authorization: Bearer <token> missing or wrong")
