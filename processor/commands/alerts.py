"""`sla-processor alerts`: read the alerts topic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

import click

from processor.commands.options import settings_from, worker_options
from processor.kafka.client import client_kwargs
from processor.settings import Settings

__all__ = ["alerts", "describe_alert"]


@click.group()
def alerts() -> None:
    """Read the alerts topic."""


@alerts.command("tail")
@worker_options
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON of each alert.")
@click.option("--from-end", is_flag=True, help="Only alerts published from now on.")
def alerts_tail(follow: bool, as_json: bool, from_end: bool, **flags: Any) -> None:
    """Print alerts, one readable line each (oldest first; --follow to keep going)."""
    from processor.kafka.admin import AdminError

    settings = settings_from(**flags)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_tail(settings, follow, as_json, from_end))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None


async def _tail(settings: Settings, follow: bool, as_json: bool, from_end: bool) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from processor.kafka.admin import partition_counts

    count = (await partition_counts(settings, [settings.alerts_topic]))[settings.alerts_topic]
    if count is None:
        raise click.ClickException(
            f"topic {settings.alerts_topic!r} does not exist on {settings.bootstrap_servers} "
            "yet (run `sla-processor topics create`, or start the worker)"
        )
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **client_kwargs(settings))
    await consumer.start()
    try:
        tps = [TopicPartition(settings.alerts_topic, p) for p in range(count)]
        consumer.assign(tps)
        await (consumer.seek_to_end(*tps) if from_end else consumer.seek_to_beginning(*tps))
        ends = await consumer.end_offsets(tps)
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    click.echo(record.value.decode() if as_json else describe_alert(record.value))
            sys.stdout.flush()
            if not follow and await _caught_up(consumer, ends):
                return
    finally:
        await consumer.stop()


async def _caught_up(consumer: Any, ends: dict[Any, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


def describe_alert(raw: bytes) -> str:
    """One readable line for an alert."""
    try:
        a = json.loads(raw)
        kind = {
            "sla.near_breach": "NEAR-BREACH",
            "sla.breached": "BREACHED",
            "sla.resolved": "RESOLVED",
        }.get(a["type"], a["type"])
        share = f" {round(a['threshold'] * 100)}%" if a.get("threshold") not in (None, 1.0) else ""
        return (
            f"{a['emitted_at']}  {kind}{share:<5} ticket {a['ticket_id']} "
            f"({a['tier']} P{a['priority']}, customer {a['customer_id']})  "
            f"due {a['due_at']}  deadline {a['deadline']}"
        )
    except (ValueError, KeyError, TypeError):
        return f"(unreadable alert) {raw[:200]!r}"
