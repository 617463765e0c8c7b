"""PagerDuty Events API v2 target: `POST https://events.pagerduty.com/v2/enqueue`.

Request and answers as documented in PagerDuty's developer docs, "Send an Alert Event"
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/) and the Events API v2
OpenAPI description (PagerDuty/api-schema, reference/events-v2/openapiv3.json): `routing_key`
(32 characters), `event_action` trigger/resolve, `dedup_key` (at most 255 characters), and for a
trigger `payload.summary` (at most 1024), `payload.source`, `payload.severity`. 202 is accepted;
400 is not retried; 429 and 5xx are retried. The documented rate limit is about 120 events a
minute per integration key ("Events API Rate Limits",
https://developer.pagerduty.com/docs/events-api-v2/rate-limits/): events are spaced under it.

One incident (ticket, metric) is one PagerDuty alert: `dedup_key` = `sla/<ticket>/<metric>`.
A near-breach triggers with severity warning, a breach with critical (a trigger on an open
alert updates it), `sla.resolved` resolves. Events of a batch go one at a time, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from processor.domain.alerts import format_instant
from processor.paging.alertmanager import summary
from processor.paging.delivery import Fatal, Sender
from processor.paging.incidents import Change, IncidentBook
from processor.settings import PagingSettings, PagingTarget

__all__ = ["PagerDutyTarget", "dedup_key", "event_for"]


def dedup_key(ticket_id: str, metric: str) -> str:
    return f"sla/{ticket_id}/{metric}"[:255]


def event_for(change: Change, routing_key: str, source: str, link: str | None) -> dict[str, Any]:
    a = change.page.alert
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "dedup_key": dedup_key(a.ticket_id, a.metric),
    }
    if change.action == "end":
        event["event_action"] = "resolve"
        return event
    event["event_action"] = "trigger"
    event["client"] = "sla-processor"
    event["payload"] = {
        "summary": summary(change.page)[:1024],
        "source": source,
        "severity": change.page.severity,
        "timestamp": format_instant(a.due_at),
        "component": a.metric,
        "group": a.tier,
        "class": a.type,
        "custom_details": {
            "ticket_id": a.ticket_id,
            "customer_id": a.customer_id,
            "priority": a.priority,
            "threshold": a.threshold,
            "deadline": format_instant(a.deadline),
            "target_seconds": a.target_seconds,
            "policy_version": a.policy_version,
            "alert_id": a.alert_id,
        },
    }
    if link:
        event["links"] = [{"href": link, "text": f"ticket {a.ticket_id}"}]
    return event


class _Spacing:
    """At most `per_minute` events a minute: each waits until 60/per_minute after the last."""

    def __init__(self, per_minute: float, now: Callable[[], float] = time.monotonic) -> None:
        self.gap, self.now = 60.0 / per_minute, now
        self.next_at = 0.0

    async def wait(self) -> None:
        delay = self.next_at - self.now()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next_at = max(self.now(), self.next_at) + self.gap


class PagerDutyTarget:
    name: PagingTarget = "pagerduty"

    def __init__(self, settings: PagingSettings, sender: Sender) -> None:
        assert settings.pagerduty_routing_key is not None
        self.url = settings.pagerduty_url
        self.key = settings.pagerduty_routing_key
        self.source = settings.pagerduty_source
        self.template = settings.ticket_url_template
        self.sender = sender
        self.spacing = _Spacing(settings.pagerduty_rate_per_minute)

    async def deliver(self, changes: list[Change], catch_up: bool = False) -> None:
        """Send the events in order. In a catch-up window (the first records after a restart,
        which the previous instance may have sent already), an incident that ends in the window
        gets only its resolve: re-sending its trigger would open a new PagerDuty alert."""
        if catch_up:
            ending = {c.page.key for c in changes if c.action == "end"}
            changes = [c for c in changes if c.action == "end" or c.page.key not in ending]
        for change in changes:
            a = change.page.alert
            link = (
                self.template.format(ticket_id=a.ticket_id, metric=a.metric)
                if self.template
                else None
            )
            event = event_for(change, self.key.get_secret_value(), self.source, link)
            await self.spacing.wait()
            try:
                await self.sender.post(self.url, event, accept=(202,))
            except Fatal as exc:
                raise Fatal(f"{exc} (check SLA_PAGERDUTY_ROUTING_KEY)") from None

    async def tick(self, book: IncidentBook) -> None:
        """PagerDuty keeps its alerts: nothing to re-send."""
