"""Prometheus metrics of the paging forwarder. Labels are bounded: target, kind, reason."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["PagingMetrics"]

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, float("inf"))


class PagingMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.forwarded = Counter(
            "sla_paging_forwarded",
            "Alerts a target accepted, by alert kind.",
            ["target", "kind"],
            registry=registry,
        )
        self.retried = Counter(
            "sla_paging_retried",
            "Requests to a target that failed and are retried (rate_limited, server_error, "
            "network).",
            ["target", "reason"],
            registry=registry,
        )
        self.failed = Counter(
            "sla_paging_failed",
            "Alerts not forwarded: poison (unparseable, skipped) or rejected (the forwarder "
            "stopped).",
            ["target", "reason"],
            registry=registry,
        )
        self.delivery = Histogram(
            "sla_paging_delivery_seconds",
            "Time from an alert's emitted_at to the target accepting it.",
            ["target"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "sla_paging_queue_depth",
            "Changes read from the alerts topic and not yet accepted by the target.",
            ["target"],
            registry=registry,
        )
        self.lag = Gauge(
            "sla_paging_consumer_lag_records",
            "Alerts on the topic the target's consumer group has not read yet.",
            ["target"],
            registry=registry,
        )
        self.firing = Gauge(
            "sla_paging_open_pages",
            "Pages open on the target (firing in Alertmanager, triggered in PagerDuty).",
            ["target"],
            registry=registry,
        )
        self.last_commit = Gauge(
            "sla_paging_last_commit_timestamp_seconds",
            "Unix time of the last offset commit of the target's consumer group.",
            ["target"],
            registry=registry,
        )
