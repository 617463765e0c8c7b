"""Alerts on `sla.alerts` (docs/contract.md#4-alerts).

An alert's identity is (ticket, metric, deadline, threshold); `alert_id` is a UUIDv5 of that
identity, so the live worker and `replay` produce the same id for the same alert, and consumers
can dedupe on it. `sla.resolved` has one identity per (ticket, metric).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from processor.domain.events import Tier
from processor.domain.instants import format_instant  # re-exported: callers import it from here

__all__ = [
    "Alert",
    "AlertType",
    "alert_id",
    "clock_alert_id",
    "format_instant",
    "made_alert",
    "threshold_key",
]

AlertType = Literal["sla.near_breach", "sla.breached", "sla.resolved"]

_NAMESPACE = uuid.UUID("5f0c1d2e-8a4b-4c36-9d57-2b1e6f3a9c40")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def threshold_key(threshold: float) -> str:
    """How an alert id writes a threshold: 4 decimals (changing it would change every id)."""
    return f"{threshold:.4f}"


def alert_id(
    ticket_id: str, metric: str, deadline: datetime | None, threshold: float | None
) -> str:
    """Deterministic id of one alert: the same identity always gives the same id."""
    if threshold is None:
        key = f"{ticket_id}\x1f{metric}\x1fresolved"
    else:
        assert deadline is not None
        at, level = format_instant(deadline), threshold_key(threshold)
        key = f"{ticket_id}\x1f{metric}\x1f{at}\x1f{level}"
    return _uuid5(key)


def clock_alert_id(
    ticket_id: str, metric: str, parts: tuple[str, ...], threshold: float | None
) -> str:
    """Id of an alert of next_reply or resolution: `parts` are the clock's identity (the cycle's
    start and deadline; the origin and target seconds; for resolved, the cycle start or the stop
    instant)."""
    level = "resolved" if threshold is None else threshold_key(threshold)
    return _uuid5("\x1f".join((ticket_id, metric, *parts, level)))


def _uuid5(name: str) -> str:
    """`str(uuid.uuid5(_NAMESPACE, name))` without building a `UUID` object."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Alert(BaseModel):
    """One alert as published. `emitted_at` is wall-clock publish time (event time in replay)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    type: AlertType
    alert_id: str
    ticket_id: str
    customer_id: str
    tier: Tier
    priority: int
    metric: str
    threshold: float | None
    due_at: AwareDatetime
    deadline: AwareDatetime
    target_seconds: int
    policy_version: str
    emitted_at: AwareDatetime

    def to_json(self) -> str:
        """The wire format: compact JSON, fields in contract order, instants in UTC with `Z`."""
        return self.model_dump_json()

    def with_emitted_at(self, at: datetime) -> Alert:
        """A copy stamped `at` (in UTC); the worker stamps every alert it publishes, so this
        copies the fields the way `made_alert` builds them (`model_copy` costs ~3% of the
        worker's CPU)."""
        alert = Alert.__new__(Alert)
        _set(alert, "__dict__", {**self.__dict__, "emitted_at": at.astimezone(UTC)})
        _set(alert, "__pydantic_fields_set__", self.__pydantic_fields_set__)
        _set(alert, "__pydantic_extra__", None)
        _set(alert, "__pydantic_private__", None)
        return alert


_FIELDS_SET = set(Alert.model_fields)
_set = object.__setattr__


def made_alert(
    kind: str, ident: str, ticket_id: str, customer_id: str, tier: str, priority: int,
    metric: str, threshold: float | None, due_at: datetime, deadline: datetime,
    target_seconds: int, policy_version: str, emitted_at: datetime,
) -> Alert:  # fmt: skip
    """The `Alert` of these field values, built without validation: for the core, whose values
    have the right types by construction (a test checks the result equals `Alert.model_validate`
    of the same values). Validating costs more than the rest of an alert."""
    alert = Alert.__new__(Alert)
    _set(alert, "__dict__", {
        "type": kind, "alert_id": ident, "ticket_id": ticket_id, "customer_id": customer_id,
        "tier": tier, "priority": priority, "metric": metric, "threshold": threshold,
        "due_at": due_at, "deadline": deadline, "target_seconds": target_seconds,
        "policy_version": policy_version, "emitted_at": emitted_at,
    })  # fmt: skip
    # Every field is set; one shared set (a frozen model never changes it; copies copy it).
    _set(alert, "__pydantic_fields_set__", _FIELDS_SET)
    _set(alert, "__pydantic_extra__", None)
    _set(alert, "__pydantic_private__", None)
    return alert
