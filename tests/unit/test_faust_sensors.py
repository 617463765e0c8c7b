"""`LeanMonitor`: faust's per-record metrics counted cheaply, exact at every scrape.

The same hook calls go to faust's own `PrometheusMonitor` and to a `LeanMonitor`, each on its
own registry; every `faust_*` sample (histogram counts included) must read the same.
"""

from __future__ import annotations

from types import SimpleNamespace

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from prometheus_client import CollectorRegistry

from processor.worker.faust_sensors import lean_monitor


class Table:
    name = "tickets"


TABLE = Table()


class Stream:  # faust's monitor keeps weak references to streams
    shortlabel = "Stream: Topic: helpdesk.ticket-events"
    task_owner = TABLE  # any object that takes a weak reference


STREAM = Stream()


def feed(monitor: PrometheusMonitor, records: int, *, finish: bool = True) -> None:
    for offset in range(records):
        tp = TP("events", offset % 3)
        message = SimpleNamespace(time_in=None)
        monitor.on_message_in(tp, offset, message)
        monitor.track_tp_end_offset(tp, offset + 100)
        state = monitor.on_stream_event_in(tp, offset, STREAM, None)
        monitor.on_table_get(TABLE, b"k")
        monitor.on_table_set(TABLE, b"k", b"v")
        if offset % 4 == 0:
            monitor.on_table_del(TABLE, b"k")
        sent = monitor.on_send_initiated(None, "sla.alerts", None, 1, 1)
        monitor.on_send_completed(None, sent, None)
        if finish:
            monitor.on_stream_event_out(tp, offset, STREAM, None, state)
            monitor.on_message_out(tp, offset, message)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            if s.name.endswith("_created") or s.name.endswith("_sum"):
                continue  # creation times and summed latencies differ by construction
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def test_the_lean_monitor_exports_what_faust_s_own_exports() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    faust_monitor = PrometheusMonitor(metrics=FaustMetrics.create(theirs, "faust"))
    lean = lean_monitor(ours, "faust")
    for monitor in (faust_monitor, lean):
        feed(monitor, 10)
        feed(monitor, 2, finish=False)  # two still in flight: the active gauges show them
    expected = samples(theirs)
    assert samples(ours) == expected
    assert expected["faust_messages_received_total", ()] == 12
    assert expected["faust_active_messages", ()] == 2
    deleted = (("operation", "keys_deleted"), ("table", "table.tickets"))
    assert expected["faust_table_operations_total", deleted] == 4
    feed(lean, 5)  # counts keep adding up across scrapes
    feed(faust_monitor, 5)
    assert samples(ours) == samples(theirs)
    for monitor in (faust_monitor, lean):  # a rebalance forgets the partitions' offsets
        feed(monitor, 1)
        monitor._clear_partition_related_metrics()
    assert samples(ours) == samples(theirs)


def test_a_changelog_flush_counts_as_faust_s_table_writes_and_sends() -> None:
    registry = CollectorRegistry()
    lean = lean_monitor(registry, "faust")
    lean.on_changelog_flush("tickets", "app-tickets-changelog", 5, 2)
    get = registry.get_sample_value
    ops = {"table": "table.tickets"}
    assert get("faust_table_operations_total", {**ops, "operation": "keys_updated"}) == 5
    assert get("faust_table_operations_total", {**ops, "operation": "keys_deleted"}) == 2
    sent = {"topic": "topic.app-tickets-changelog"}
    assert get("faust_topic_messages_sent_total", sent) == 7
