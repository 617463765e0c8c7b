"""Small hand-computed logs for the report tests."""

from __future__ import annotations

import json
from pathlib import Path

from processor import domain

DAY = "2026-03-02"  # a Monday


def line(kind: str, ticket: str, hhmm: str, **fields: object) -> bytes:
    body = {
        "type": f"ticket.{kind}",
        "event_id": f"{ticket}-{kind}-{hhmm}",
        "ticket_id": ticket,
        "occurred_at": f"{DAY}T{hhmm}:00Z",
        **fields,
    }
    return json.dumps(body).encode()


def opened(ticket: str, hhmm: str, tier: str, priority: int) -> bytes:
    return line("created", ticket, hhmm, customer_id="c", tier=tier, priority=priority)


# gold P1: target 30m, 24x7; silver P2: 2h. Hand-computed outcomes in the comments.
LOG = [
    opened("T1", "10:00", "gold", 1),
    opened("T2", "10:00", "gold", 1),
    opened("T3", "10:00", "gold", 1),
    opened("T4", "10:00", "gold", 1),
    opened("T5", "10:00", "silver", 2),
    line("agent_responded", "T1", "10:10", public=True),  # met, 600 s, share 1/3
    line("status_changed", "T3", "10:20", status="solved"),  # met, 1200 s, share 2/3
    line("agent_responded", "T2", "10:45", public=True),  # breached, 2700 s, share 1.5
    line("agent_responded", "T5", "11:00", public=True),  # met, 3600 s, share 0.5
]  # T4 still running at the end (11:00): its 22:30, 27:00 and 30:00 thresholds are paged


def policy_with_gold_p1(tmp_path: Path, target: str) -> Path:
    """The shipped policy with another gold P1 target (version `gold-p1-45m`)."""
    text = (Path(domain.__file__).parent / "default_policy.yaml").read_text()
    text = text.replace('version: "okta-premier-success-1"', 'version: "gold-p1-45m"')
    text = text.replace("targets: {1: 30m, 2: 1h,", f"targets: {{1: {target}, 2: 1h,")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path
