"""Zendesk event webhooks (ticket events) to input events.

Envelope: `type` (`zen:event-type:ticket.*`), `id` (the event's id, kept across redeliveries),
`time`, `subject` (`zen:ticket:<id>`), `detail` (the ticket), `event` (what changed). Used types:
`ticket.created`, `ticket.comment_added`, `ticket.priority_changed`, `ticket.status_changed`; all
other types are ignored (2xx). Ids: ticket `zendesk:<ticket id>`, event `zendesk:<event id>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from processor.ingest.common import (
    CustomerPolicy,
    Mapped,
    Unmappable,
    customer_fields,
    get,
    get_id,
    get_str,
    instant,
    mapped_priority,
)
from processor.ingest.directory import CustomerDirectory
from processor.ingest.mapping import VendorTable

__all__ = ["map_zendesk"]

_PREFIX = "zen:event-type:"


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What a handler maps with: the vendor table, the customer directory and its policy."""

    table: VendorTable
    directory: CustomerDirectory
    policy: CustomerPolicy


Handler = Callable[[dict[str, Any], dict[str, Any], _Lookups], dict[str, Any]]


def map_zendesk(
    payload: object, table: VendorTable, directory: CustomerDirectory, policy: CustomerPolicy
) -> Mapped:
    """The events of one Zendesk webhook body (already parsed JSON)."""
    if not isinstance(payload, dict):
        raise Unmappable(400, "not_object", "", "body must be a JSON object")
    kind = get_str(payload, "type")
    assert kind is not None
    handler = _HANDLERS.get(kind.removeprefix(_PREFIX)) if kind.startswith(_PREFIX) else None
    if handler is None:
        return Mapped(ignored="unused_type")
    base = {
        "event_id": f"zendesk:{get_id(payload, 'id')}",
        "ticket_id": f"zendesk:{get_id(payload, 'detail.id')}",
        "occurred_at": instant(payload, "time"),
    }
    return Mapped([handler(payload, base, _Lookups(table, directory, policy))])


def _created(payload: dict[str, Any], base: dict[str, Any], ctx: _Lookups) -> dict[str, Any]:
    if get(payload, "detail.created_at", None) is not None:
        base["occurred_at"] = instant(payload, "detail.created_at")
    org = get_id(payload, "detail.organization_id", optional=True)
    requester = get_id(payload, "detail.requester_id", optional=True)
    keys = [f"zendesk:org:{org}"] if org and org != "0" else []
    keys += [f"zendesk:user:{requester}"] if requester else []
    return {
        "type": "ticket.created",
        **base,
        **customer_fields(ctx.directory, keys, ctx.policy, "detail.requester_id"),
        "priority": mapped_priority(ctx.table, payload, "detail.priority"),
    }


def _comment(payload: dict[str, Any], base: dict[str, Any], ctx: _Lookups) -> dict[str, Any]:
    public = get(payload, "event.comment.is_public")
    staff = get(payload, "event.comment.author.is_staff")
    for path, value in (
        ("event.comment.is_public", public),
        ("event.comment.author.is_staff", staff),
    ):
        if not isinstance(value, bool):
            raise Unmappable(422, "invalid_field", path, "must be true or false")
    author = get_id(payload, "event.comment.author.id", optional=True)
    if staff:
        return {"type": "ticket.agent_responded", **base, "agent_id": author, "public": public}
    return {"type": "ticket.customer_replied", **base, "author_id": author, "public": public}


def _priority_changed(
    payload: dict[str, Any], base: dict[str, Any], ctx: _Lookups
) -> dict[str, Any]:
    get(payload, "event.current")  # present, possibly null (priority removed: the default)
    return {
        "type": "ticket.priority_changed",
        **base,
        "priority": mapped_priority(ctx.table, payload, "event.current"),
        "reason": "zendesk",
    }


def _status_changed(payload: dict[str, Any], base: dict[str, Any], ctx: _Lookups) -> dict[str, Any]:
    name = get_str(payload, "event.current")
    assert name is not None
    status = ctx.table.status(name)
    if status is None:
        known = ", ".join(sorted(ctx.table.statuses))
        raise Unmappable(
            422, "unmapped_value", "event.current", f"{name!r} is not in the table ({known})"
        )
    return {"type": "ticket.status_changed", **base, "status": status}


_HANDLERS: dict[str, Handler] = {
    "ticket.created": _created,
    "ticket.comment_added": _comment,
    "ticket.priority_changed": _priority_changed,
    "ticket.status_changed": _status_changed,
}
