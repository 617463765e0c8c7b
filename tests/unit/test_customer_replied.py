"""`ticket.customer_replied` and `ticket.created.country` in the event model; the SLA machine
ignores customer replies (no error, no alert change) until the next-reply metric uses them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from processor.domain.events import CustomerReplied, InvalidEvent, TicketCreated, parse_event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy

AT = "2026-03-02T09:00:00Z"


def test_customer_replied_defaults_to_public() -> None:
    event = parse_event(
        json.dumps(
            {
                "type": "ticket.customer_replied",
                "event_id": "e",
                "ticket_id": "t",
                "occurred_at": AT,
            }
        )
    )
    assert isinstance(event, CustomerReplied) and event.public and event.author_id is None


@pytest.mark.parametrize(("country", "ok"), [("FR", True), ("fr", False), ("FRA", False)])
def test_country_is_two_upper_case_letters(country: str, ok: bool) -> None:
    raw = json.dumps(
        {
            "type": "ticket.created",
            "event_id": "e",
            "ticket_id": "t",
            "occurred_at": AT,
            "customer_id": "c",
            "tier": "gold",
            "priority": 1,
            "country": country,
        }
    )
    if ok:
        event = parse_event(raw)
        assert isinstance(event, TicketCreated) and event.country == country
    else:
        with pytest.raises(InvalidEvent) as err:
            parse_event(raw)
        assert err.value.reason == "invalid_field" and "country" in err.value.message


def test_machine_ignores_customer_replies() -> None:
    machine = SlaMachine(default_policy())
    now = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    created = parse_event(
        json.dumps(
            {
                "type": "ticket.created",
                "event_id": "c",
                "ticket_id": "t",
                "occurred_at": AT,
                "customer_id": "c",
                "tier": "gold",
                "priority": 1,
                "country": "FR",
            }
        )
    )
    state, _ = machine.apply(None, created, now)
    reply = parse_event(
        json.dumps(
            {
                "type": "ticket.customer_replied",
                "event_id": "r",
                "ticket_id": "t",
                "occurred_at": "2026-03-02T09:01:00Z",
            }
        )
    )
    state, out = machine.apply(state, reply, now)
    assert out.ignored and not out.alerts and state.phase == "open"
