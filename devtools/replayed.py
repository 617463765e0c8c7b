"""What `replay` says a list of event dicts raises: the expected side of live-vs-replay tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from processor.domain.events import parse_event
from processor.domain.policy import Policy, default_policy
from processor.replay import Replayer

__all__ = ["replayed_alerts"]


def replayed_alerts(
    events: list[dict[str, Any]], until: datetime, policy: Policy | None = None
) -> dict[str, dict[str, Any]]:
    """alert_id -> alert (as JSON), from `replay` of `events` up to `until` (inclusive)."""
    replayer = Replayer(policy or default_policy(), until=until)
    alerts = []
    for event in events:
        alerts.extend(replayer.feed(parse_event(json.dumps(event))))
    alerts.extend(replayer.finish())
    return {a.alert_id: json.loads(a.to_json()) for a in alerts}
