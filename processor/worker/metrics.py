"""Prometheus metrics of docs/contract.md#6-metrics, on an injected registry.

Labels are bounded (tier, priority, type, kind, outcome, reason, and `metric`: the policy's
enabled metrics, at most first_response, next_reply and resolution). The open / at-risk / breached
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
from processor.domain.policy import FIRST_RESPONSE

__all__ = ["Metrics", "TicketCensus"]

TIERS: tuple[str, ...] = constants.TIERS
PRIORITIES = tuple(str(p) for p in constants.PRIORITIES)  # label values
FIRST_RESPONSE_BUCKETS = (
    *(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800),
    *(432000, 1209600),  # 5 and 14 days, for resolution
)
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
        """Open clocks by `metric:tier:priority:risk` (a ticket's class lists its clocks)."""
        out: Tally[str] = Tally()
        for (_, klass), n in self._counts.items():
            for part in klass.split(","):
                out[part if part.count(":") == 3 else f"{FIRST_RESPONSE}:{part}"] += n
        return out


class _CensusCollector(Collector):
    def __init__(self, census: TicketCensus, metrics: tuple[str, ...]) -> None:
        self.census, self.metrics = census, metrics

    def collect(self) -> Iterator[Metric]:
        labels = ["tier", "priority", "metric"]
        families = {
            "ok": GaugeMetricFamily(
                "sla_open_tickets",
                "Tickets whose clock of the metric runs (first response: awaiting it)",
                labels=labels,
            ),
            "at_risk": GaugeMetricFamily(
                "sla_at_risk_tickets",
                "Open tickets past a near-breach threshold, not breached",
                labels=labels,
            ),
            "breached": GaugeMetricFamily(
                "sla_breached_open_tickets", "Open tickets past their deadline", labels=labels
            ),
        }
        totals = self.census.totals()
        for metric in self.metrics:
            for tier in TIERS:
                for prio in PRIORITIES:
                    key = f"{metric}:{tier}:{prio}"
                    counts = {r: totals[f"{key}:{r}"] for r in ("ok", "at_risk", "breached")}
                    families["ok"].add_metric([tier, prio, metric], sum(counts.values()))
                    families["at_risk"].add_metric([tier, prio, metric], counts["at_risk"])
                    families["breached"].add_metric([tier, prio, metric], counts["breached"])
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


TargetKey = tuple[str, int] | tuple[str, int, str]
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
        targets: Mapping[TargetKey, float] | None = None,
        metrics: tuple[str, ...] = (FIRST_RESPONSE,),
    ) -> None:
        """`metrics`: the policy's enabled metrics (the bounded values of the `metric` label);
        `targets` maps (tier, priority), or (tier, priority, metric), to target seconds."""
        self.registry, self.metric_names = registry, metrics
        self.events = Counter("sla_events", "Valid events processed", ["type"], registry=registry)
        self.invalid = Counter(
            "sla_invalid_events", "Invalid input sent to the DLQ", ["reason"], registry=registry
        )
        self.alerts = Counter(
            "sla_alerts",
            "Alerts published",
            ["kind", "tier", "priority", "metric"],
            registry=registry,
        )
        self.responses = Counter(
            "sla_responses",
            "Stops of SLA clocks (first response, next-reply cycle, resolution) by outcome",
            ["tier", "priority", "outcome", "metric"],
            registry=registry,
        )
        self.first_response = Histogram(
            "sla_first_response_seconds",
            "Business seconds from the start to the stop of the metric's clock",
            ["tier", "priority", "metric"],
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
            "Target of the metric in the active policy (business seconds)",
            ["tier", "priority", "metric"],
            registry=registry,
        )
        registry.register(_CensusCollector(census, metrics))
        registry.register(_LagCollector(lag or dict))
        self._initialise(targets or {})

    def _initialise(self, targets: Mapping[TargetKey, float]) -> None:
        from processor.domain.events import InvalidEvent

        for reason in (*InvalidEvent.REASONS, *WORKER_DLQ_REASONS):
            self.invalid.labels(reason)
        for kind in EVENT_TYPES:
            self.events.labels(kind)
        for metric in self.metric_names:
            for tier in TIERS:
                for prio in PRIORITIES:
                    self.first_response.labels(tier, prio, metric)
                    for outcome in ("met", "breached"):
                        self.responses.labels(tier, prio, outcome, metric)
                    for kind in KINDS:
                        self.alerts.labels(kind, tier, prio, metric)
        for key, seconds in targets.items():
            metric = key[2] if len(key) == 3 else FIRST_RESPONSE
            self.target.labels(key[0], str(key[1]), metric).set(seconds)
