"""What the adapters share: results, errors that name the field, typed field access, customers.

An adapter turns one parsed JSON payload into `Mapped` (events in section-2 form, as dicts) or
raises `Unmappable` (answered 400/422 with the field named). An event type we do not use is
`Mapped([], ignored=<reason>)`: answered 2xx so the helpdesk keeps the webhook enabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from processor.ingest.directory import CustomerDirectory
from processor.ingest.mapping import VendorTable
from processor.ingest.timefmt import BadInstant, to_rfc3339

__all__ = [
    "CustomerPolicy",
    "Mapped",
    "Unmappable",
    "customer_fields",
    "get",
    "get_id",
    "get_str",
    "instant",
    "mapped_priority",
]


@dataclass(frozen=True)
class Mapped:
    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: str | None = None


class Unmappable(ValueError):
    """A payload that cannot become events. `reason` is a bounded metric label."""

    def __init__(self, status: int, reason: str, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.status, self.reason, self.where = status, reason, where


@dataclass(frozen=True)
class CustomerPolicy:
    unknown: Literal["default", "reject"]
    default_tier: str


_MISSING = object()


def get(payload: object, path: str, default: object = _MISSING) -> Any:
    """`payload["a"]["b"]` for `path` "a.b"; a missing key is 422 naming the path."""
    node = payload
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is not _MISSING:
                return default
            raise Unmappable(422, "missing_field", path, "missing")
        node = node[part]
    return node


def get_str(payload: object, path: str, *, optional: bool = False) -> str | None:
    value = get(payload, path, None if optional else _MISSING)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 1024:
        raise Unmappable(422, "invalid_field", path, "must be a string (at most 1024 chars)")
    return value


def get_id(payload: object, path: str, *, optional: bool = False) -> str | None:
    """An id that vendors send as a string or an integer, as a non-empty string."""
    value = get(payload, path, None if optional else _MISSING)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unmappable(422, "invalid_field", path, "must be an id (string or integer)")
    text = str(value).strip()
    if not 0 < len(text) <= 100:
        raise Unmappable(422, "invalid_field", path, "must be 1-100 characters")
    return text


def instant(payload: object, path: str) -> str:
    try:
        return to_rfc3339(get(payload, path))
    except BadInstant as exc:
        raise Unmappable(422, "invalid_field", path, str(exc)) from None


def customer_fields(
    directory: CustomerDirectory, keys: Sequence[str], policy: CustomerPolicy, where: str
) -> dict[str, Any]:
    """`customer_id`, `tier`, `timezone` (and `country`) for the first key the directory knows."""
    if not keys:
        raise Unmappable(422, "missing_field", where, "no organization or requester to look up")
    found = directory.lookup(keys)
    if found is None:
        if policy.unknown == "reject":
            raise Unmappable(
                422, "unknown_customer", where, f"customer {keys[0]!r} is not in the directory"
            )
        return {"customer_id": keys[0], "tier": policy.default_tier, "timezone": "UTC"}
    key, customer = found
    fields: dict[str, Any] = {
        "customer_id": key,
        "tier": customer.tier,
        "timezone": customer.timezone,
    }
    if customer.country is not None:
        fields["country"] = customer.country
    return fields


def mapped_priority(table: VendorTable, payload: dict[str, Any], path: str) -> int:
    """The priority (1-4) the vendor's priority name at `path` maps to; 422 if it is unmapped."""
    name = get_str(payload, path, optional=True)
    priority = table.priority(name)
    if priority is None:
        known = ", ".join(sorted(table.priorities))
        raise Unmappable(422, "unmapped_value", path, f"{name!r} is not in the table ({known})")
    return priority
