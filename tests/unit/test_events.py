"""Input validation (docs/contract.md#2-input-events): strict known fields, unknown fields
ignored, clear reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from processor.domain.events import (
    AgentResponded,
    InvalidEvent,
    PriorityChanged,
    StatusChanged,
    TicketCreated,
    parse_event,
)

BASE = {"event_id": "e1", "ticket_id": "T-1", "occurred_at": "2026-03-02T10:00:00+01:00"}


def raw(**fields: Any) -> bytes:
    return json.dumps({**BASE, **fields}).encode()


def reason(value: bytes) -> tuple[str, str]:
    with pytest.raises(InvalidEvent) as info:
        parse_event(value)
    return info.value.reason, info.value.message


def test_created_defaults_timezone_to_utc_and_normalises_to_utc() -> None:
    event = parse_event(raw(type="ticket.created", customer_id="c", tier="gold", priority=1))
    assert isinstance(event, TicketCreated)
    assert event.timezone == "UTC"
    assert event.occurred_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_unknown_extra_fields_are_ignored() -> None:
    event = parse_event(raw(type="ticket.agent_responded", via="email", sla_hint={"x": 1}))
    assert isinstance(event, AgentResponded) and event.public is True


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"type": "ticket.priority_changed", "priority": 7}, "priority"),
        ({"type": "ticket.priority_changed", "priority": "2"}, "priority"),
        ({"type": "ticket.priority_changed", "priority": True}, "priority"),
        ({"type": "ticket.status_changed", "status": "archived"}, "status"),
        ({"type": "ticket.agent_responded", "public": "yes"}, "public"),
        ({"type": "ticket.agent_responded", "occurred_at": "2026-03-02T10:00:00"}, "occurred_at"),
        ({"type": "ticket.agent_responded", "occurred_at": 1767225600}, "occurred_at"),
        ({"type": "ticket.agent_responded", "ticket_id": ""}, "ticket_id"),
        ({"type": "ticket.agent_responded", "ticket_id": "x" * 129}, "ticket_id"),
        ({"type": "ticket.created", "customer_id": "c", "tier": "platinum", "priority": 1}, "tier"),
        (
            {
                "type": "ticket.created",
                "customer_id": "c",
                "tier": "gold",
                "priority": 1,
                "timezone": "Mars/Olympus",
            },
            "timezone",
        ),
        (
            {"type": "ticket.agent_responded", "occurred_at": "9999-12-31T23:00:00-05:00"},
            "occurred_at",
        ),
    ],
)
def test_invalid_fields_name_the_field(fields: dict[str, Any], where: str) -> None:
    kind, message = reason(raw(**fields))
    assert kind == "invalid_field"
    assert message.startswith(where) or f"; {where}" in message, message


def test_missing_required_field_is_named() -> None:
    body = {
        "type": "ticket.created",
        "event_id": "e",
        "ticket_id": "t",
        "occurred_at": "2026-03-02T10:00:00Z",
        "tier": "gold",
        "priority": 1,
    }
    kind, message = reason(json.dumps(body).encode())
    assert kind == "invalid_field" and "customer_id: Field required" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"not json at all", "not_json"),
        (b"[1, 2]", "not_json"),
        (b"\xff\xfe{}", "not_utf8"),
        (json.dumps({**BASE, "type": "ticket.merged"}).encode(), "unknown_type"),
        (json.dumps(BASE).encode(), "unknown_type"),
        (b"{" + b" " * 70_000 + b"}", "oversized"),
    ],
)
def test_reasons_are_from_a_small_fixed_set(value: bytes, expected: str) -> None:
    kind, _ = reason(value)
    assert kind == expected
    assert kind in InvalidEvent.REASONS


def test_the_size_limit_is_configurable() -> None:
    big = raw(type="ticket.agent_responded", padding="x" * 100_000)
    assert isinstance(parse_event(big, max_bytes=200_000), AgentResponded)


def test_all_four_types_parse() -> None:
    assert isinstance(parse_event(raw(type="ticket.priority_changed", priority=2)), PriorityChanged)
    assert isinstance(
        parse_event(raw(type="ticket.status_changed", status="on_hold")), StatusChanged
    )
