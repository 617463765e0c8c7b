"""Ingest metrics (bounded labels: source, outcome, reason, type), on an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["OUTCOMES", "SOURCES", "IngestMetrics"]

SOURCES = ("zendesk", "jira", "events")
OUTCOMES = ("accepted", "ignored", "rejected", "unavailable")
_EVENT_TYPES = (
    "ticket.created",
    "ticket.agent_responded",
    "ticket.customer_replied",
    "ticket.priority_changed",
    "ticket.status_changed",
)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sla_ingest_requests",
            "Requests by source and outcome (accepted, ignored, rejected, unavailable)",
            ["source", "outcome"],
            registry=registry,
        )
        self.events = Counter(
            "sla_ingest_events",
            "Events stored on the input topic (acked by the broker), by source and type",
            ["source", "type"],
            registry=registry,
        )
        self.rejections = Counter(
            "sla_ingest_rejections",
            "Requests answered 4xx, by source and reason",
            ["source", "reason"],
            registry=registry,
        )
        self.ignored = Counter(
            "sla_ingest_ignored",
            "Requests answered 2xx without an event (types or changes not used), by reason",
            ["source", "reason"],
            registry=registry,
        )
        self.produce_seconds = Histogram(
            "sla_ingest_produce_seconds",
            "From handing a request's events to the producer to the broker's ack",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        for source in SOURCES:
            for outcome in OUTCOMES:
                self.requests.labels(source, outcome)
            for kind in _EVENT_TYPES:
                self.events.labels(source, kind)
