"""Prometheus metrics of docs/contract.md#6-metrics, on an injected registry.

Labels are bounded (tier, priority, type, kind, outcome, reason). The open / at-risk / breached
gauges are computed at scrape time from `TicketCensus`, which is derived from the ticket table
(rebuilt on every rebalance, updated on every write), so they are right after a restart too.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from processor.domain import constants
from processor.domain.events import EVENT_TYPES

__all__ = ["Metrics", "TicketCensus"]

TIERS: tuple[str, ...] = constants.TIERS
PRIORITIES = tuple(str(p) for p in constants.PRIORITIES)  # label values
FIRST_RESPONSE_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800)
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
WORKER_DLQ_REASONS = ("bad_tick", "internal_error")
"""DLQ reasons besides invalid input: a malformed tick record, and any exception the worker
raised while handling a record (a bug, an overflow)."""
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400)


class TicketCensus:
    """Per-ticket class (tier, priority, risk) of open tickets, by partition."""

    def __init__(self) -> None:
        self._tickets: dict[str, tuple[int, str]] = {}
        self._counts: Tally[tuple[int, str]] = Tally()

    def set(self, partition: int, ticket_id: str, klass: str | None) -> None:
        old = self._tickets.pop(ticket_id, None)
        if old is not None:
            self._counts[old] -= 1
        if klass is not None:
            self._tickets[ticket_id] = (partition, klass)
            self._counts[(partition, klass)] += 1

    def clear(self) -> None:
        self._tickets.clear()
        self._counts.clear()

    def totals(self) -> Tally[str]:
        out: Tally[str] = Tally()
        for (_, klass), n in self._counts.items():
            out[klass] += n
        return out


class _CensusCollector(Collector):
    def __init__(self, census: TicketCensus) -> None:
        self.census = census

    def collect(self) -> Iterator[Metric]:
        families = {
            "ok": GaugeMetricFamily(
                "sla_open_tickets", "Tickets awaiting first response", labels=["tier", "priority"]
            ),
            "at_risk": GaugeMetricFamily(
                "sla_at_risk_tickets",
                "Open tickets past a near-breach threshold, not breached",
                labels=["tier", "priority"],
            ),
            "breached": GaugeMetricFamily(
                "sla_breached_open_tickets",
                "Open tickets past their deadline",
                labels=["tier", "priority"],
            ),
        }
        totals = self.census.totals()
        for tier in TIERS:
            for prio in PRIORITIES:
                counts = {r: totals[f"{tier}:{prio}:{r}"] for r in ("ok", "at_risk", "breached")}
                families["ok"].add_metric([tier, prio], sum(counts.values()))
                families["at_risk"].add_metric([tier, prio], counts["at_risk"])
                families["breached"].add_metric([tier, prio], counts["breached"])
        yield from families.values()


class _LagCollector(Collector):
    def __init__(self, lag: Callable[[], Mapping[tuple[str, int], int]]) -> None:
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sla_consumer_lag_records",
            "Records in the input partition not yet read by this worker",
            labels=["topic", "partition"],
        )
        for (topic, partition), value in sorted(self.lag().items()):
            family.add_metric([topic, str(partition)], value)
        yield family


KINDS = ("sla.near_breach", "sla.breached", "sla.resolved")


class Metrics:
    """The processor's own metrics. Build one per worker with its own registry.

    Every label combination is created at start-up, so `increase()` sees the first event of a
    series and dashboards show zeros rather than gaps.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        census: TicketCensus,
        lag: Callable[[], Mapping[tuple[str, int], int]] | None = None,
        targets: Mapping[tuple[str, int], float] | None = None,
    ) -> None:
        self.registry = registry
        self.events = Counter("sla_events", "Valid events processed", ["type"], registry=registry)
        self.invalid = Counter(
            "sla_invalid_events", "Invalid input sent to the DLQ", ["reason"], registry=registry
        )
        self.alerts = Counter(
            "sla_alerts", "Alerts published", ["kind", "tier", "priority"], registry=registry
        )
        self.responses = Counter(
            "sla_responses",
            "First responses (or closes) by SLA outcome",
            ["tier", "priority", "outcome"],
            registry=registry,
        )
        self.first_response = Histogram(
            "sla_first_response_seconds",
            "Business seconds from creation to first response",
            ["tier", "priority"],
            buckets=FIRST_RESPONSE_BUCKETS,
            registry=registry,
        )
        self.alert_delay = Histogram(
            "sla_alert_delay_seconds",
            "Publish time minus due_at of near-breach and breach alerts",
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.event_lag = Histogram(
            "sla_event_lag_seconds",
            "Processing time minus occurred_at of events",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.duplicates = Counter(
            "sla_duplicate_events", "Events ignored as repeats of an event_id", registry=registry
        )
        self.dropped = Counter(
            "sla_dropped_early_events",
            "Events for unknown tickets dropped after the retention",
            registry=registry,
        )
        self.target = Gauge(
            "sla_first_response_target_seconds",
            "First-response target of the active policy (business seconds)",
            ["tier", "priority"],
            registry=registry,
        )
        registry.register(_CensusCollector(census))
        registry.register(_LagCollector(lag or dict))
        self._initialise(targets or {})

    def _initialise(self, targets: Mapping[tuple[str, int], float]) -> None:
        from processor.domain.events import InvalidEvent

        for reason in (*InvalidEvent.REASONS, *WORKER_DLQ_REASONS):
            self.invalid.labels(reason)
        for kind in EVENT_TYPES:
            self.events.labels(kind)
        for tier in TIERS:
            for prio in PRIORITIES:
                self.first_response.labels(tier, prio)
                for outcome in ("met", "breached"):
                    self.responses.labels(tier, prio, outcome)
                for kind in KINDS:
                    self.alerts.labels(kind, tier, prio)
        for (tier, prio_int), seconds in targets.items():
            self.target.labels(tier, str(prio_int)).set(seconds)
