"""Commands that talk to Kafka: `worker`, `topics create`, `alerts tail`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from processor.settings import Settings, kafka_client_kwargs

__all__ = ["alerts", "settings_from", "topics", "worker", "worker_options"]


def worker_options(fun: Any) -> Any:
    """Flags shared by the commands that connect to Kafka (each overrides its `SLA_` variable)."""
    options = [
        click.option(
            "--bootstrap-servers", help="Kafka bootstrap servers [SLA_BOOTSTRAP_SERVERS]."
        ),
        click.option("--app-id", help="Consumer group id [SLA_APP_ID]."),
        click.option("--partitions", type=int, help="Input topic partitions [SLA_PARTITIONS]."),
    ]
    for option in reversed(options):
        fun = option(fun)
    return fun


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, then the flags given; exits with a readable error."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise click.ClickException(f"invalid settings: {problems}") from None


@click.command()
@worker_options
@click.option(
    "--web-port", type=int, help="HTTP port for /metrics, /healthz, /tickets [SLA_WEB_PORT]."
)
@click.option("--store", help="rocksdb:// or memory:// [SLA_STORE].")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Table state dir [SLA_DATA_DIR].")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, path_type=Path),
    help="Policy YAML [SLA_POLICY_FILE].",
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
def worker(**flags: Any) -> None:
    """Run the live SLA worker (Faust) until stopped with Ctrl-C or SIGTERM."""
    from faust.worker import Worker

    from processor.domain.policy import PolicyError
    from processor.kafka_admin import AdminError, check_input_partitions, ensure_topics
    from processor.worker.app import create_app

    settings = settings_from(**flags)
    try:
        sla = create_app(settings)
        asyncio.run(ensure_topics(settings))
        asyncio.run(check_input_partitions(settings))
    except (PolicyError, AdminError) as exc:
        raise click.ClickException(str(exc)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    click.echo(
        f"sla-processor worker: {settings.bootstrap_servers} -> {settings.alerts_topic}; "
        f"http://{settings.web_host}:{settings.web_port}/metrics",
        err=True,
    )
    Worker(sla.faust, loglevel=settings.log_level, quiet=True).execute_from_commandline()


@click.group()
def topics() -> None:
    """Manage the processor's Kafka topics."""


@topics.command("create")
@worker_options
@click.option("--replication-factor", type=int, help="[SLA_REPLICATION_FACTOR]")
def topics_create(**flags: Any) -> None:
    """Create the input, alerts and DLQ topics (existing ones are left as they are)."""
    from processor.kafka_admin import AdminError, ensure_topics

    settings = settings_from(**flags)
    try:
        results = asyncio.run(ensure_topics(settings))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    for name, result in results:
        click.echo(f"{name}: {result}")


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
    from processor.kafka_admin import AdminError

    settings = settings_from(**flags)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_tail(settings, follow, as_json, from_end))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None


async def _tail(settings: Settings, follow: bool, as_json: bool, from_end: bool) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from processor.kafka_admin import partition_counts

    count = (await partition_counts(settings, [settings.alerts_topic]))[settings.alerts_topic]
    if count is None:
        raise click.ClickException(
            f"topic {settings.alerts_topic!r} does not exist on {settings.bootstrap_servers} "
            "yet (run `sla-processor topics create`, or start the worker)"
        )
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **kafka_client_kwargs(settings))
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
