"""Prometheus Alertmanager target: `POST /api/v2/alerts` (the postableAlerts body of
Alertmanager's API v2 OpenAPI spec, api/v2/openapi.yaml in prometheus/alertmanager; see
https://prometheus.io/docs/alerting/latest/alerts_api).

A page is one Alertmanager alert. Identity labels: alertname, ticket, metric; routing labels:
tier, severity, priority. Annotations carry the summary, deadline, threshold, policy version,
alert id and ticket link. A firing page is posted with `endsAt` = now + resolve timeout and
re-posted every resend interval (Alertmanager keeps alerts in memory only); an ended page is
posted once with `endsAt` = when it ended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from processor.domain.alerts import format_instant
from processor.paging.delivery import Sender
from processor.paging.incidents import Change, IncidentBook, Page
from processor.settings import PagingSettings, PagingTarget

__all__ = ["ALERTNAME", "AlertmanagerTarget", "postable"]

log = logging.getLogger("processor.paging")

ALERTNAME = "SlaTicketDeadline"
_CHUNK = 1000  # alerts per POST


def summary(page: Page) -> str:
    a = page.alert
    what = (
        "breached"
        if a.type == "sla.breached"
        else f"{round((a.threshold or 0) * 100)}% of the target used"
    )
    return (
        f"SLA {a.metric} {what}: ticket {a.ticket_id} ({a.tier} P{a.priority}, "
        f"customer {a.customer_id}), deadline {format_instant(a.deadline)}"
    )


def postable(page: Page, ends_at: datetime, ticket_url: str | None) -> dict[str, Any]:
    a = page.alert
    labels = {
        "alertname": ALERTNAME,
        "ticket": a.ticket_id,
        "metric": a.metric,
        "tier": a.tier,
        "severity": page.severity,
        "priority": str(a.priority),
    }
    annotations = {
        "summary": summary(page),
        "kind": a.type,
        "deadline": format_instant(a.deadline),
        "due_at": format_instant(a.due_at),
        "threshold": f"{a.threshold:g}" if a.threshold is not None else "",
        "target_seconds": str(a.target_seconds),
        "policy_version": a.policy_version,
        "customer_id": a.customer_id,
        "alert_id": a.alert_id,
    }
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": format_instant(page.started_at),
        "endsAt": format_instant(max(ends_at, page.started_at)),
    }
    if ticket_url:
        annotations["ticket_url"] = body["generatorURL"] = ticket_url
    return body


class AlertmanagerTarget:
    name: PagingTarget = "alertmanager"

    def __init__(
        self, settings: PagingSettings, sender: Sender, clock: Callable[[], datetime]
    ) -> None:
        self.url = f"{settings.alertmanager_url}/api/v2/alerts"
        self.template = settings.ticket_url_template
        self.window = timedelta(seconds=settings.alertmanager_resolve_timeout)
        self.resend = settings.alertmanager_resend_seconds
        self.sender, self.clock = sender, clock
        self._last_resend: datetime | None = None

    async def deliver(self, changes: list[Change], catch_up: bool = False) -> None:
        """Post the final state of every page the changes touch, in one request per chunk
        (Alertmanager holds states, so a catch-up window needs nothing more)."""
        now = self.clock()
        latest: dict[tuple[str, ...], dict[str, Any]] = {}
        for change in changes:
            if change.previous is not None:
                self._put(latest, change.previous, min(now, change.alert.emitted_at))
            if change.action == "end":
                self._put(latest, change.page, min(now, change.alert.due_at))
            else:
                self._put(latest, change.page, now + self.window)
        await self._post(latest.values())

    async def tick(self, book: IncidentBook) -> None:
        """Re-post every firing page when the resend interval has passed or the target has
        just come back (an Alertmanager restarted empty gets its pages again at once)."""
        now = self.clock()
        due = self._last_resend is None or (now - self._last_resend).total_seconds() >= self.resend
        if not (due or self.sender.recovered):
            return
        self.sender.recovered = False
        ends = now + self.window
        log.debug("alertmanager: re-posting %d firing pages", len(book))
        await self._post(postable(p, ends, self._link(p)) for p in book.firing())
        self._last_resend = now

    def _put(self, out: dict[tuple[str, ...], dict[str, Any]], page: Page, ends: datetime) -> None:
        body = postable(page, ends, self._link(page))
        out[tuple(sorted(body["labels"].items()))] = body

    def _link(self, page: Page) -> str | None:
        if self.template is None:
            return None
        return self.template.format(ticket_id=page.alert.ticket_id, metric=page.alert.metric)

    async def _post(self, alerts: Iterable[dict[str, Any]]) -> None:
        chunk: list[dict[str, Any]] = []
        for alert in alerts:
            chunk.append(alert)
            if len(chunk) == _CHUNK:
                await self.sender.post(self.url, chunk, accept=(200,))
                chunk = []
        if chunk:
            await self.sender.post(self.url, chunk, accept=(200,))
