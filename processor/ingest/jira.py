"""Jira Service Management webhooks to input events.

Used events (`webhookEvent`): `jira:issue_created`, `jira:issue_updated` (changelog items
`priority` and `status`; other fields are ignored) and `comment_created` (`jsdPublic`, default
true; a comment by an account of type `customer`, or by the reporter, is a customer reply, one by
an `app` is automation and ignored, others are agents). Ids: ticket `jira:<issue id>` (the id,
not the key: keys change when an issue moves project); events `jira:<issue id>:created`,
`jira:<issue id>:changelog:<changelog id>:<item index>`, `jira:<issue id>:comment:<comment id>`.
Jira's `+0000` offsets and epoch-millisecond `timestamp` become RFC 3339 UTC.
"""

from __future__ import annotations

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
from processor.ingest.mapping import Mapping, VendorTable
from processor.ingest.timefmt import BadInstant, from_epoch_ms

__all__ = ["map_jira"]


def map_jira(
    payload: object, mapping: Mapping, directory: CustomerDirectory, policy: CustomerPolicy
) -> Mapped:
    """The events of one Jira webhook body (already parsed JSON)."""
    if not isinstance(payload, dict):
        raise Unmappable(400, "not_object", "", "body must be a JSON object")
    kind = get_str(payload, "webhookEvent")
    if kind == "jira:issue_created":
        return Mapped([_created(payload, mapping, directory, policy)])
    if kind == "jira:issue_updated":
        events = _changes(payload, mapping.jira)
        return Mapped(events) if events else Mapped(ignored="no_used_change")
    if kind == "comment_created":
        return _comment(payload)
    return Mapped(ignored="unused_type")


def _ticket(payload: dict[str, Any]) -> str:
    return f"jira:{get_id(payload, 'issue.id')}"


def _created(
    payload: dict[str, Any], mapping: Mapping, directory: CustomerDirectory, policy: CustomerPolicy
) -> dict[str, Any]:
    ticket = _ticket(payload)
    orgs = get(payload, f"issue.fields.{mapping.jira_organization_field}", None)
    keys = [
        f"jira:org:{org['id']}"
        for org in (orgs if isinstance(orgs, list) else [])[:10]
        if isinstance(org, dict) and isinstance(org.get("id"), str | int)
    ]
    reporter = get_id(payload, "issue.fields.reporter.accountId", optional=True)
    keys += [f"jira:user:{reporter}"] if reporter else []
    priority_path = "issue.fields.priority.name"
    has_priority = isinstance(get(payload, "issue.fields.priority", None), dict)
    return {
        "type": "ticket.created",
        "event_id": f"{ticket}:created",
        "ticket_id": ticket,
        "occurred_at": instant(payload, "issue.fields.created"),
        **customer_fields(directory, keys, policy, "issue.fields.reporter"),
        "priority": mapped_priority(mapping.jira, payload, priority_path)
        if has_priority
        else mapping.jira.default_priority,
    }


def _changes(payload: dict[str, Any], table: VendorTable) -> list[dict[str, Any]]:
    items = get(payload, "changelog.items", [])
    if not isinstance(items, list):
        raise Unmappable(422, "invalid_field", "changelog.items", "must be a list")
    fields = (
        (i, item, _field(item)) for i, item in enumerate(items[:100]) if isinstance(item, dict)
    )
    used = [(i, item, field) for i, item, field in fields if field in _FIELDS]
    if not used:
        return []
    ticket = _ticket(payload)
    changelog = get_id(payload, "changelog.id")
    try:
        occurred = from_epoch_ms(get(payload, "timestamp"))
    except BadInstant as exc:
        raise Unmappable(422, "invalid_field", "timestamp", str(exc)) from None
    events = []
    for index, item, field in used:
        base = {"event_id": f"{ticket}:changelog:{changelog}:{index}", "ticket_id": ticket}
        where = f"changelog.items.{index}"
        if field == "priority":
            priority = mapped_priority(table, {"p": item.get("toString")}, "p")
            events.append(
                {
                    "type": "ticket.priority_changed",
                    **base,
                    "occurred_at": occurred,
                    "priority": priority,
                    "reason": "jira",
                }
            )
        else:
            name = item.get("toString")
            status = table.status(name) if isinstance(name, str) else None
            if status is None:
                raise Unmappable(
                    422,
                    "unmapped_value",
                    f"{where}.toString",
                    f"{str(name)[:60]!r} is not in the status table",
                )
            events.append(
                {"type": "ticket.status_changed", **base, "occurred_at": occurred, "status": status}
            )
    return events


_FIELDS = frozenset({"priority", "status"})


def _field(item: dict[str, Any]) -> str | None:
    """A changelog item's field (`fieldId`, else `field`); None unless it is a string (a
    hostile body can put any JSON there, and a list or object is not a field we use)."""
    for key in ("fieldId", "field"):
        value = item.get(key)
        if value:
            return value if isinstance(value, str) else None
    return None


def _comment(payload: dict[str, Any]) -> Mapped:
    ticket = _ticket(payload)
    comment = get_id(payload, "comment.id")
    kind = get_str(payload, "comment.author.accountType", optional=True)
    if kind == "app":
        return Mapped(ignored="automation_comment")
    public = get(payload, "comment.jsdPublic", True)
    if not isinstance(public, bool):
        raise Unmappable(422, "invalid_field", "comment.jsdPublic", "must be true or false")
    author = get_id(payload, "comment.author.accountId", optional=True)
    reporter = get_id(payload, "issue.fields.reporter.accountId", optional=True)
    base = {
        "event_id": f"{ticket}:comment:{comment}",
        "ticket_id": ticket,
        "occurred_at": instant(payload, "comment.created"),
        "public": public,
    }
    if kind == "customer" or (author is not None and author == reporter):
        return Mapped([{"type": "ticket.customer_replied", **base, "author_id": author}])
    return Mapped([{"type": "ticket.agent_responded", **base, "agent_id": author}])
