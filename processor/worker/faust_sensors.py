"""faust's own metrics (`faust_*`) at a fraction of their cost per record.

faust calls its monitor several times per record (message in, stream event in and out, message
out, each table read and write, each send). Its `PrometheusMonitor` updates a Prometheus metric
in each call (a label lookup and a lock each) on top of its base `Monitor`'s bookkeeping (times,
deques, per-stream names): about a third of the worker's CPU in `BENCHMARKS.md`. `LeanMonitor`
keeps the same metrics with the same names and labels, but its per-record hooks only add to plain
counters; the counts go into the Prometheus metrics when `/metrics` is scraped (`SyncFirst`, a
collector registered ahead of them), so a scrape reads exact values. The rare hooks (commits,
rebalances, assignments, web) are faust's own.

Event runtime (`faust_events_runtime_ms`) is observed per record as before. The ticket table's
writes bypass faust's table (`table_writes.ChangelogTable`) and alerts its topics
(`publisher`): `on_changelog_flush` and `on_sent` count them as the table operations and sends
faust would have counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from time import monotonic
from typing import Any

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

__all__ = ["LeanMonitor", "lean_monitor"]


class LeanMonitor(PrometheusMonitor):
    def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
        super().__init__(metrics=metrics, **kwargs)
        self._received: Counter[str] = Counter()
        self._offsets: dict[tuple[str, int], int] = {}
        self._messages_out = 0
        self._events: Counter[Any] = Counter()
        self._events_out = 0
        self._runtimes: list[float] = []
        self._table_ops: Counter[tuple[str, str]] = Counter()
        self._sent: Counter[str] = Counter()
        self._acked: list[float] = []
        self._labels: dict[Any, str] = {}
        self._in_flight = (0, 0)  # (messages, events) already set on the active gauges

    # -- per record: plain counters ---------------------------------------------------------

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self._received[tp.topic] += 1
        self._offsets[tp.topic, tp.partition] = offset

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> Any:
        self._events[stream] += 1
        return monotonic()

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        self._events_out += 1
        if state is not None:
            self._runtimes.append(monotonic() - state)

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        self._messages_out += 1

    def on_table_get(self, table: Any, key: Any) -> None:
        self._table_ops[table.name, self.KEYS_RETRIEVED] += 1

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        self._table_ops[table.name, self.KEYS_UPDATED] += 1

    def on_table_del(self, table: Any, key: Any) -> None:
        self._table_ops[table.name, self.KEYS_DELETED] += 1

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> Any:
        self._sent[topic] += 1
        return monotonic()

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        self._acked.append(monotonic() - state)

    def track_tp_end_offset(self, tp: Any, offset: int) -> None:
        self.tp_end_offsets[tp] = offset  # what faust's base monitor keeps

    def _clear_partition_related_metrics(self) -> None:  # at a rebalance
        self.sync()  # what was counted before it, then cleared as faust clears it
        super()._clear_partition_related_metrics()

    def on_changelog_flush(self, table: str, topic: str, updated: int, deleted: int) -> None:
        """A `ChangelogTable` flush: its writes, as faust's table would have counted them."""
        self._table_ops[table, self.KEYS_UPDATED] += updated
        self._table_ops[table, self.KEYS_DELETED] += deleted
        self.on_sent(topic, updated + deleted)

    def on_sent(self, topic: str, count: int) -> None:
        """Records sent straight through the producer (not through faust's topics), acked."""
        self._sent[topic] += count

    # -- at scrape time ---------------------------------------------------------------------

    def sync(self) -> None:
        """Move the counts gathered since the last scrape into the Prometheus metrics."""
        m = self._metrics
        received, self._received = self._received, Counter()
        for topic, n in received.items():
            m.messages_received.inc(n)
            m.messages_received_per_topics.labels(topic=topic).inc(n)
        for (topic, partition), offset in self._offsets.items():
            m.messages_received_per_topics_partition.labels(topic=topic, partition=partition).set(
                offset
            )
        self._offsets = {}
        for tp, end in self.tp_end_offsets.items():
            m.topic_partition_end_offset.labels(topic=tp.topic, partition=tp.partition).set(end)
        events, self._events = self._events, Counter()
        for stream, n in events.items():
            m.total_events.inc(n)
            m.total_events_per_stream.labels(stream=f"stream.{self._label(stream)}.events").inc(n)
        messages, in_events = self._in_flight
        messages += sum(received.values()) - self._messages_out
        in_events += sum(events.values()) - self._events_out
        self._in_flight, self._messages_out, self._events_out = (messages, in_events), 0, 0
        m.active_messages.set(messages)
        m.total_active_events.set(in_events)
        runtimes, self._runtimes = self._runtimes, []
        for seconds in runtimes:
            m.events_runtime_latency.observe(seconds * 1000.0)
        ops, self._table_ops = self._table_ops, Counter()
        for (table, operation), n in ops.items():
            m.table_operations.labels(table=f"table.{table}", operation=operation).inc(n)
        sent, self._sent = self._sent, Counter()
        for topic, n in sent.items():
            m.topic_messages_sent.labels(topic=f"topic.{topic}").inc(n)
        acked, self._acked = self._acked, []
        m.total_sent_messages.inc(len(acked))
        for seconds in acked:
            m.producer_send_latency.observe(seconds * 1000.0)

    def _label(self, stream: Any) -> str:
        label = self._labels.get(stream)
        if label is None:
            label = self._labels[stream] = self._stream_label(stream)
        return label


class SyncFirst:
    """A collector with no metrics of its own: collected ahead of faust's metrics on the same
    registry, it moves the monitor's counts into them first."""

    def __init__(self) -> None:
        self.monitor: LeanMonitor | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if self.monitor is not None:
            self.monitor.sync()
        return iter(())


def lean_monitor(registry: CollectorRegistry, namespace: str = "faust") -> LeanMonitor:
    """A `LeanMonitor` whose metrics are on `registry` (kept exact at each scrape)."""
    first = SyncFirst()
    registry.register(first)
    monitor = LeanMonitor(metrics=FaustMetrics.create(registry, namespace))
    first.monitor = monitor
    return monitor
