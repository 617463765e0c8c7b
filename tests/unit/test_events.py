"""Input validation (docs/contract.md#2-input-events): strict known fields, unknown fields
ignored, clear reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from processor.domain import alerts, instants
from processor.domain.calendar import basic_calendar
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


# --- strict timestamps and zones ------------------------------------------------------------------

CREATED = {"type": "ticket.created", "customer_id": "c", "tier": "gold", "priority": 1}


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1772445600",  # epoch seconds in a string
        "2026-03-02T10:00Z",  # no seconds
        "2026-03-02T10:00:00+0100",  # offset without a colon
        "2026-03-02T10:00:00",  # naive
        "2026-03-02",  # a date only
        "2026-03-02 10:00:00Z",  # a space instead of T
        "20260302T100000Z",  # basic format
        "2026-03-02T10:00:00+01",  # offset without minutes
        "2026-03-02T10:00:00,5Z",  # decimal comma
        "\u0662\u0660\u0662\u0666-03-02T10:00:00Z",  # non-ASCII digits
        "2026-02-30T10:00:00Z",  # no such day
        "0001-01-01T00:00:00+01:00",  # out of range (and would overflow the conversion to UTC)
        "2026-03-02T10:00:00Z\n",
    ],
)
def test_occurred_at_must_be_rfc3339_with_seconds_and_offset(occurred_at: str) -> None:
    kind, message = reason(raw(**CREATED, occurred_at=occurred_at))
    assert kind == "invalid_field"
    assert message.startswith("occurred_at: "), message


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        ("2026-03-02t10:00:00z", datetime(2026, 3, 2, 10, tzinfo=UTC)),
        ("2026-03-02T10:00:00.25-05:30", datetime(2026, 3, 2, 15, 30, 0, 250_000, tzinfo=UTC)),
        ("2026-03-02T10:00:00-00:00", datetime(2026, 3, 2, 10, tzinfo=UTC)),
        ("1970-01-01T00:30:00+00:00", datetime(1970, 1, 1, 0, 30, tzinfo=UTC)),
    ],
)
def test_rfc3339_forms_are_accepted_in_utc(occurred_at: str, expected: datetime) -> None:
    event = parse_event(raw(**CREATED, occurred_at=occurred_at))
    assert event.occurred_at == expected and event.occurred_at.tzinfo is UTC


def test_a_long_bad_timestamp_is_quoted_short() -> None:
    _, message = reason(raw(**CREATED, occurred_at="9" * 5000))
    assert len(message) < 200, message
    assert "'9999999999" in message and "…" in message


@pytest.mark.parametrize(
    "zone",
    ["America", "Etc", "localtime", "posixrules", "Factory", "../etc/passwd", "europe/paris"],
)
def test_timezone_must_be_an_iana_zone_name_not_a_directory_or_host_link(zone: str) -> None:
    kind, message = reason(raw(**CREATED, timezone=zone))
    assert kind == "invalid_field"
    assert message.startswith("timezone: ") and "unknown IANA time zone" in message, message


@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC", "Etc/GMT+5", "America/Argentina/Salta"])
def test_real_zone_names_are_accepted(zone: str) -> None:
    event = parse_event(raw(**CREATED, timezone=zone))
    assert isinstance(event, TicketCreated) and event.timezone == zone


def test_one_parser_for_instants_and_the_calendar_checks_zones_the_same_way() -> None:
    assert alerts.format_instant is instants.format_instant
    assert instants.parse_instant("2026-03-02T11:00:00+01:00") == datetime(
        2026, 3, 2, 10, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="not an RFC 3339 date-time"):
        instants.parse_instant("2026-03-02T10:00Z")
    with pytest.raises(ValueError, match="unknown IANA time zone 'America'"):
        basic_calendar("America")
