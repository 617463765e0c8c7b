"""Builders for the SLA core tests: events as the helpdesk writes them, and a replay runner."""

from __future__ import annotations

import json
from datetime import datetime
from importlib.resources import files
from itertools import count
from typing import Any

import yaml

from processor.domain.alerts import Alert
from processor.domain.events import Event, parse_event
from processor.domain.policy import Policy, default_policy, parse_policy
from processor.replay import Replayer

_ids = count(1)


def ev(kind: str, ticket: str, at: str, **fields: Any) -> Event:
    """One event: `kind` is the part after `ticket.`; `at` an RFC 3339 instant."""
    body: dict[str, Any] = {
        "type": f"ticket.{kind}",
        "event_id": fields.pop("event_id", f"e{next(_ids)}"),
        "ticket_id": ticket,
        "occurred_at": at,
        **fields,
    }
    return parse_event(json.dumps(body))


def created(ticket: str, at: str, tier: str, priority: int, tz: str = "UTC", **kw: Any) -> Event:
    return ev(
        "created", ticket, at, customer_id="c-1", tier=tier, priority=priority, timezone=tz, **kw
    )


def replay(
    events: list[Event], until: str | None = None, policy: Policy | None = None
) -> list[Alert]:
    replayer = Replayer(
        policy or default_policy(), until=datetime.fromisoformat(until) if until else None
    )
    alerts: list[Alert] = []
    for event in events:
        alerts.extend(replayer.feed(event))
    alerts.extend(replayer.finish())
    return alerts


def brief(alerts: list[Alert]) -> list[tuple[str, float | None, str]]:
    """(type, threshold, due_at in UTC) for each alert: the part the worked examples check."""
    return [(a.type, a.threshold, a.due_at.isoformat().replace("+00:00", "Z")) for a in alerts]


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


def policy_with(**changes: Any) -> Policy:
    """The shipped default policy with some top-level settings replaced (validated as a file)."""
    text = files("processor.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data.update(changes)
    return parse_policy(yaml.safe_dump(data))
