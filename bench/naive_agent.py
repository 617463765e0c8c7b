"""(b) of the throughput benchmark: the naive Faust agent, one table write per event.

The same I/O as the worker and as the plain loop (a): consume the input topic, decode every JSON
value, write one ticket-table row per event (RocksDB store, changelog write per set), send the
alerts the worker raises at that event (from $BENCH_ALERTS_FILE, event_id -> count) and await
their acks, at-least-once commits. One record at a time, as `async for event in stream`.
Configured like the worker from the same `SLA_*` variables; `/healthz` is 200 once its table is
recovered (the worker's definition of ready).

    SLA_... BENCH_ALERTS_FILE=counts.json python bench/naive_agent.py worker
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import faust
from faust.worker import Worker


def build() -> faust.App:
    env = os.environ
    app = faust.App(
        env["SLA_APP_ID"] + "-naive",
        broker=f"kafka://{env['SLA_BOOTSTRAP_SERVERS']}",
        store="rocksdb://",
        datadir=env["SLA_DATA_DIR"],
        web_host="127.0.0.1",
        web_port=int(env["SLA_WEB_PORT"]),
        topic_partitions=int(env["SLA_PARTITIONS"]),
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        autodiscover=False,
        table_standby_replicas=0,
    )
    with open(env["BENCH_ALERTS_FILE"]) as handle:
        counts: dict[str, int] = json.load(handle)
    events = app.topic(env["SLA_EVENTS_TOPIC"], key_serializer="raw", value_serializer="raw")
    alerts = app.topic(env["SLA_ALERTS_TOPIC"], key_serializer="raw", value_serializer="raw")
    table = app.Table("tickets", key_type=bytes, value_type=bytes)
    ready = asyncio.Event()

    @app.agent(events)
    async def process(stream: Any) -> None:
        async for event in stream.events():
            value = event.message.value
            if not value:  # a worker's tick record
                continue
            body = json.loads(value)
            table[event.message.key] = value
            sends = [
                await alerts.send(key=event.message.key, value=value, force=True)
                for _ in range(counts.get(body["event_id"], 0))
            ]
            await asyncio.gather(*sends)

    @table.on_recover
    async def recovered() -> None:
        ready.set()

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"ready": ready.is_set()}, status=200 if ready.is_set() else 503)

    return app


if __name__ == "__main__":
    Worker(build(), loglevel="warning", quiet=True).execute_from_commandline()
