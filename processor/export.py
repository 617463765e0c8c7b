"""`events export`: the input topic (or a time range of it) as JSON lines that replay and report
read, each line the event as it was produced plus the `partition` it was read from.

Records are read partition by partition up to the end offsets taken at the start (so the export
ends, and a topic that keeps growing is cut at one instant), in the order the consumer fetches
them: each partition in its own order, partitions interleaved, exactly the disorder replay's
per-partition watermarks are built for. The workers' own records (ticks, sightings) are left out;
a record that is not a JSON object is counted and left out (it is on the DLQ already).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from processor.kafka.client import client_kwargs
from processor.settings import Settings
from processor.worker.service import TICK_HEADER
from processor.worker.sightings import SIGHTING_HEADER

__all__ = ["ExportStats", "export_events"]

_OWN_HEADERS = frozenset({TICK_HEADER, SIGHTING_HEADER})
"""Records the workers write to the input topic themselves (ticks, sightings): not events."""


@dataclass(slots=True)
class ExportStats:
    records: int = 0
    written: int = 0
    ticks: int = 0
    not_json: int = 0

    def summary(self) -> str:
        return (
            f"export: {self.records} records read, {self.written} events written, "
            f"{self.ticks} worker records (ticks, sightings) and {self.not_json} non-JSON "
            "records left out"
        )


async def export_events(
    settings: Settings,
    out: IO[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[ExportStats], None] | None = None,
) -> ExportStats:
    """Write the events topic's records with `start <= timestamp < end` (Kafka record time)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from processor.kafka.admin import partition_counts

    topic = settings.events_topic
    count = (await partition_counts(settings, [topic]))[topic]
    if count is None:
        raise LookupError(f"topic {topic!r} does not exist on {settings.bootstrap_servers}")
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **client_kwargs(settings))
    await consumer.start()
    stats = ExportStats()
    try:
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await _seek(consumer, tps, start)
        remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    _write(record, out, stats, end)
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if progress is not None:
                progress(stats)
    finally:
        await consumer.stop()
    return stats


async def _seek(consumer: Any, tps: list[Any], start: datetime | None) -> None:
    # Explicit offsets: a reset to "earliest" (seek_to_beginning) can lose against the reset
    # to the default policy that `assign` started, and then reads nothing.
    if start is None:
        for tp, offset in (await consumer.beginning_offsets(tps)).items():
            consumer.seek(tp, offset)
        return
    found = await consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in tps})
    ends = await consumer.end_offsets(tps)
    for tp in tps:
        hit = found.get(tp)
        consumer.seek(tp, ends[tp] if hit is None else hit.offset)


def _write(record: Any, out: IO[str], stats: ExportStats, end: datetime | None) -> None:
    stats.records += 1
    if end is not None and record.timestamp >= end.timestamp() * 1000:
        return
    if any(name in _OWN_HEADERS for name, _ in record.headers or ()):
        stats.ticks += 1
        return
    try:
        event = json.loads(record.value)
    except (TypeError, ValueError):
        event = None
    if not isinstance(event, dict):
        stats.not_json += 1
        return
    event["partition"] = record.partition
    out.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False))
    out.write("\n")
    stats.written += 1
