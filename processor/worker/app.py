"""`create_app(settings)`: the Faust app, its topics, table, agent, tick timer and web pages.

Nothing is created at import time; tests build as many apps as they like.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from processor.domain.constants import PRIORITIES, TIERS
from processor.domain.machine import SlaMachine
from processor.domain.policy import Policy, load_policy
from processor.kafka.client import faust_credentials
from processor.runtime import TickWatermarks
from processor.settings import Settings
from processor.topicspec import TABLE_NAME
from processor.worker.batches import Batches, BatchScope
from processor.worker.faust_compat import (
    BoundedRocksDBOptions,
    active_rows,
    arrived,
    bound_rocksdb,
    check_app,
    drop_unassigned_changelog_records,
    fetch_state,
    guard_standby_recovery,
    install_fair_consumer,
    is_paused,
    next_offset,
    positions,
)
from processor.worker.faust_sensors import lean_monitor
from processor.worker.metrics import Metrics, TicketCensus
from processor.worker.publisher import KafkaPublisher
from processor.worker.routing import Interop
from processor.worker.service import TICK_HEADER, SlaService
from processor.worker.settled_flush import install_settled_flush
from processor.worker.table_writes import ChangelogTable
from processor.worker.watchdog import StallWatch
from processor.worker.web import register_pages

__all__ = ["SlaApp", "create_app"]

log = logging.getLogger(__name__)

POLL_RECORDS = 200
"""Records faust takes from aiokafka per call, from one partition then the next (in turn, with
`install_fair_consumer`): a partition with records waiting is served within a few calls,
however large another's fetched backlog (fetches stay up to 8 MiB: 4 MiB input records)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SlaApp:
    """The Faust app plus the service it drives (handy for tests and the CLI)."""

    def __init__(self, app: faust.App, service: SlaService, settings: Settings) -> None:
        self.faust, self.service, self.settings = app, service, settings
        self.ready = False


def create_app(
    settings: Settings,
    policy: Policy | None = None,
    *,
    clock: Callable[[], datetime] = _utc_now,
    registry: CollectorRegistry | None = None,
    machine: SlaMachine | None = None,
) -> SlaApp:
    """The worker's Faust app. `machine` replaces the SLA core (tests inject faults with it)."""
    policy = policy or load_policy(settings.policy_file)
    for warning in policy.warnings:
        log.warning("policy %s: %s", policy.version, warning)
    app = faust.App(settings.app_id, **_faust_config(settings))
    check_app(app)
    guard_standby_recovery(app)
    drop_unassigned_changelog_records(app)  # else faust applies them to another table
    install_settled_flush(app)  # no offset commit or hand-over before the changelog is acked
    install_fair_consumer(app)  # fetched partitions are delivered in turn, POLL_RECORDS each
    # faust flushes its producer buffer whenever it holds more than this before it hands the
    # streams the next record (a batch's changelog writes can exceed it; see BENCHMARKS.md).
    app.producer.buffer.max_messages = settings.producer_buffer
    events = app.topic(
        settings.events_topic,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=False,
    )
    alerts = app.topic(settings.alerts_topic, key_serializer="raw", value_serializer="raw")
    dlq = app.topic(settings.dlq_topic, key_serializer="raw", value_serializer="raw")
    # bytes key/value types make faust use the raw codec for the store and the changelog.
    table = app.Table(
        TABLE_NAME,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
        # faust creates the changelog with topic_replication_factor replicas; this adds the ISR.
        extra_topic_configs={"min.insync.replicas": str(settings.min_insync_replicas)},
    )
    scope = BatchScope()
    registry = registry or CollectorRegistry()
    census = TicketCensus()
    targets: dict[tuple[str, int] | tuple[str, int, str], float] = {
        (tier, prio, metric): policy.target(tier, prio, metric).total_seconds()
        for metric in policy.metric_names
        for tier in TIERS
        for prio in PRIORITIES
    }
    lag = lambda: _consumer_lag(app, settings.events_topic)  # noqa: E731
    metrics = Metrics(registry, census, lag, targets, policy.metric_names)
    counted, sent = None, None
    if settings.faust_sensors:
        monitor = app.monitor = lean_monitor(registry, "faust")
        counted = lambda topic, *n: monitor.on_changelog_flush(TABLE_NAME, topic, *n)  # noqa: E731
        sent = monitor.on_sent
    interop = Interop(app, settings, events, table, registry)
    _bound_rocksdb(app, settings)
    service = SlaService(
        policy,
        interop.watched(ChangelogTable(table, counted)),
        KafkaPublisher(alerts, dlq, sent),
        metrics,
        census,
        clock,
        settings.max_event_bytes,
        machine=machine,
        scope=scope,
        watermarks=TickWatermarks(
            timedelta(seconds=settings.lateness_window), timedelta(seconds=settings.lateness_floor)
        ),
    )
    service.store.compact_rows = settings.row_format == "compact"
    sla = SlaApp(app, service, settings)
    in_order = lambda message: arrived(app, message)  # noqa: E731
    _wire(sla, events, table, Batches(service, interop.watch, scope, in_order))
    _watch_stalls(sla)
    register_pages(sla, table, registry, interop.lookup)
    return sla


def _wire(sla: SlaApp, events: Any, table: Any, batches: Batches) -> None:
    app, service, settings = sla.faust, sla.service, sla.settings

    @app.agent(events, name="sla-events")
    async def process(stream: Any) -> None:
        if settings.batch_max <= 1:  # one record at a time (the baseline of `make bench`)
            async for event in stream.events():
                await batches.on_event(event)
            return
        async for batch in stream.take_events(settings.batch_max, settings.batch_wait):
            await batches.on_batch(batch)

    @table.on_recover
    async def rebuild() -> None:
        active = _active_partitions(app, settings.events_topic)
        count = service.rebuild(active_rows(table), active)
        sla.ready = True
        app.log.info("deadline index rebuilt: %d tickets on partitions %s", count, sorted(active))

    @app.timer(interval=settings.timer_resolution)
    async def tick() -> None:
        if not sla.ready or app.rebalancing:
            return
        watermark = sla.service.clock() - timedelta(seconds=settings.tick_lag)
        stamp = watermark.isoformat().encode()
        for partition in sorted(_active_partitions(app, settings.events_topic)):
            await events.send(
                key=None,
                value=b"",
                partition=partition,
                headers=[(TICK_HEADER, stamp)],
                force=True,
            )


def _watch_stalls(sla: SlaApp) -> None:
    app, topic = sla.faust, sla.settings.events_topic
    watch = StallWatch(after=sla.settings.stall_seconds)

    @app.timer(interval=5.0)
    async def watchdog() -> None:
        if not sla.ready or app.rebalancing:
            watch.reset()
            return
        consumer: Any = app.consumer
        for tp, position, high in positions(consumer, topic):
            nudges = watch.observe(tp.partition, position, high, time.monotonic())
            if nudges is None:
                continue
            waiting, paused = high - position, is_paused(consumer, tp)
            if nudges >= 3:
                app.log.critical(
                    "input partition %d still stalled at offset %d after %d re-seeks; "
                    "exiting so that a supervisor restarts the worker",
                    tp.partition,
                    position,
                    nudges,
                )
                os._exit(3)
            app.log.error(
                "input partition %d stalled at offset %d with %d records waiting (paused=%s; %s); "
                "re-seeking it",
                tp.partition,
                position,
                waiting,
                paused,
                fetch_state(consumer, tp),
            )
            consumer.resume_partitions({tp})
            await consumer.seek(tp, position)
            watch.rebase(tp.partition, next_offset(consumer, tp))


def _active_partitions(app: faust.App, topic: str) -> set[int]:
    return {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}


def _consumer_lag(app: faust.App, topic: str) -> dict[tuple[str, int], int]:
    """High watermark minus the next offset to read, per assigned input partition."""
    try:
        found = positions(app.consumer, topic)
    except Exception:  # not started yet: no partitions, no lag to report
        return {}
    return {(topic, tp.partition): max(high - position, 0) for tp, position, high in found}


def _bound_rocksdb(app: faust.App, settings: Settings) -> None:
    """One block cache and one memtable budget for all of the worker's table databases."""
    mb = 1024 * 1024
    options = BoundedRocksDBOptions(
        write_buffer_bytes=settings.rocksdb_write_buffer_mb * mb,
        memtable_bytes=settings.rocksdb_memtables_mb * mb,
        cache_bytes=settings.rocksdb_block_cache_mb * mb,
    )
    for table in app.tables.values():
        bound_rocksdb(table, options)


def _faust_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "broker": settings.broker_url,
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "canonical_url": f"http://{settings.web_host}:{settings.web_port}",
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "processing_guarantee": "at_least_once",
        "consumer_auto_offset_reset": "earliest",
        "producer_max_request_size": 8 * 1024 * 1024,
        "consumer_max_fetch_size": 8 * 1024 * 1024,
        "broker_max_poll_records": POLL_RECORDS,
        "producer_acks": -1,  # acks=all: with min_insync_replicas, no write on one copy only
        "producer_linger": settings.producer_linger,
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout / 3),
        "autodiscover": False,
        "web_enabled": True,
        "table_cleanup_interval": 3600.0,
        # Safe with `guard_standby_recovery` (see faust_compat), applied in create_app.
        "table_standby_replicas": settings.standby_replicas,
    }
    credentials = faust_credentials(settings)
    if credentials is not None:
        config["broker_credentials"] = credentials
    return config
