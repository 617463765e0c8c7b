"""`sla-processor topics`: the processor's Kafka topics."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from processor.commands.options import settings_from, worker_options

__all__ = ["topics"]


@click.group()
def topics() -> None:
    """Manage the processor's Kafka topics."""


@topics.command("create")
@worker_options
@click.option("--replication-factor", type=int, help="[SLA_REPLICATION_FACTOR]")
def topics_create(**flags: Any) -> None:
    """Create the input, alerts and DLQ topics (existing ones are left as they are)."""
    from processor.kafka.admin import AdminError, ensure_topics

    settings = settings_from(**flags)
    try:
        results = asyncio.run(ensure_topics(settings))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    for name, result in results:
        click.echo(f"{name}: {result}")
