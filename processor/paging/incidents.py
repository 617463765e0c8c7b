"""Which page each incident has open on one target, and what changes when an alert arrives.

Pure: no I/O, no clock. An incident is (ticket, metric); it has at most one open page per target.
A page's routing labels are (tier, severity, priority): when an alert changes one of them, the old
page ends and a new one fires (`relabel`). A near-breach never replaces the breach of the same
deadline; a repeated alert (same `alert_id`) changes nothing; `sla.resolved` ends the open page.
State is kept per Kafka partition so a rebalance can drop or rebuild one partition's incidents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from processor.domain.alerts import Alert
from processor.settings import Route

__all__ = ["SEVERITY", "Change", "IncidentBook", "Page"]

SEVERITY = {"sla.near_breach": "warning", "sla.breached": "critical"}
Action = Literal["fire", "update", "relabel", "end"]
IncidentKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Page:
    """The page of one incident as the target should show it."""

    alert: Alert  # the latest alert of this page
    started_at: datetime  # due_at of the page's first alert

    @property
    def key(self) -> IncidentKey:
        return (self.alert.ticket_id, self.alert.metric)

    @property
    def severity(self) -> str:
        return SEVERITY[self.alert.type]

    @property
    def routing(self) -> tuple[str, str, int]:
        return (self.alert.tier, self.severity, self.alert.priority)


@dataclass(frozen=True, slots=True)
class Change:
    """What a target must do. `previous` is the page a `relabel` ends."""

    action: Action
    page: Page
    alert: Alert  # the alert that caused the change (sla.resolved for `end`)
    previous: Page | None = None


class IncidentBook:
    """Open pages of one target, per partition of the alerts topic."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self._open: dict[int, dict[IncidentKey, Page]] = {}

    def apply(self, partition: int, alert: Alert) -> list[Change]:
        pages = self._open.setdefault(partition, {})
        key = (alert.ticket_id, alert.metric)
        current = pages.get(key)
        if alert.type == "sla.resolved":
            if current is None:
                return []
            del pages[key]
            return [Change("end", current, alert)]
        if not self._routed(alert) or _stale(current, alert):
            return []
        if current is None:
            pages[key] = page = Page(alert, alert.due_at)
            return [Change("fire", page, alert)]
        page = replace(current, alert=alert)
        if page.routing == current.routing:
            pages[key] = page
            return [Change("update", page, alert)]
        pages[key] = page = Page(alert, alert.due_at)
        return [Change("relabel", page, alert, previous=current)]

    def drop(self, partitions: set[int]) -> None:
        """Forget partitions this forwarder no longer owns (their pages stay where they are)."""
        for partition in partitions:
            self._open.pop(partition, None)

    def firing(self) -> Iterator[Page]:
        for pages in self._open.values():
            yield from pages.values()

    def __len__(self) -> int:
        return sum(len(pages) for pages in self._open.values())

    def _routed(self, alert: Alert) -> bool:
        return self.route.accepts(alert.type, alert.tier, alert.priority, alert.metric)


def _stale(current: Page | None, alert: Alert) -> bool:
    """A repeat of the page's latest alert, or a near-breach behind the breach of its deadline."""
    if current is None:
        return False
    if current.alert.alert_id == alert.alert_id:
        return True
    return (
        current.alert.type == "sla.breached"
        and alert.type == "sla.near_breach"
        and alert.deadline == current.alert.deadline
    )
