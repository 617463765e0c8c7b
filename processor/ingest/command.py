"""`sla-processor ingest`: run the webhook service until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from aiohttp import web
from prometheus_client import CollectorRegistry

from processor.commands.options import settings_of
from processor.settings import IngestSettings

if TYPE_CHECKING:
    from processor.ingest.directory import CustomerDirectory
    from processor.ingest.mapping import Mapping

__all__ = ["ingest", "ingest_settings"]

log = logging.getLogger("processor.ingest")


def ingest_settings(**overrides: Any) -> IngestSettings:
    """Settings from the environment, then the flags given; exits with a readable error."""
    return settings_of(IngestSettings, **overrides)


@click.command()
@click.option("--bootstrap-servers", help="Kafka bootstrap servers [SLA_BOOTSTRAP_SERVERS].")
@click.option("--host", "ingest_host", help="Listen address [SLA_INGEST_HOST] (127.0.0.1).")
@click.option("--port", "ingest_port", type=int, help="Listen port [SLA_INGEST_PORT] (8088).")
@click.option(
    "--config",
    "ingest_config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Priority/status mapping YAML [SLA_INGEST_CONFIG].",
)
@click.option(
    "--directory",
    "customer_directory",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Customer directory, YAML or CSV [SLA_CUSTOMER_DIRECTORY].",
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
def ingest(**flags: Any) -> None:
    """Take Zendesk / Jira Service Management webhooks and plain events onto the input topic.

    Answers 2xx only after the broker acknowledged the events. Secrets come from the environment
    only (SLA_ZENDESK_SIGNING_SECRET, SLA_JIRA_WEBHOOK_SECRET, SLA_EVENTS_TOKEN); an endpoint
    without its secret is off.
    """
    from processor.ingest.directory import CustomerDirectory, DirectoryError
    from processor.ingest.mapping import MappingFileError, load_mapping

    settings = ingest_settings(**flags)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        mapping = load_mapping(settings.ingest_config)
        directory = CustomerDirectory(settings.customer_directory)
    except (MappingFileError, DirectoryError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        asyncio.run(_serve(settings, mapping, directory))
    except _StartError as exc:
        raise click.ClickException(str(exc)) from None


class _StartError(Exception):
    pass


async def _serve(settings: IngestSettings, mapping: Mapping, directory: CustomerDirectory) -> None:
    from processor.ingest.app import Ingest, create_app
    from processor.ingest.producer import BrokerUnavailable, EventProducer

    producer = EventProducer(settings)
    try:
        await producer.start()
    except BrokerUnavailable as exc:
        raise _StartError(str(exc)) from None
    ingest = Ingest(settings, mapping, directory, producer, CollectorRegistry())
    runner = web.AppRunner(create_app(ingest), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.ingest_host, settings.ingest_port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            raise _StartError(
                f"cannot listen on {settings.ingest_host}:{settings.ingest_port}: {exc}"
            ) from None
        _announce(settings, len(directory))
        await _until_signal()
    finally:
        await runner.cleanup()
        await producer.stop()


def _announce(settings: IngestSettings, customers: int) -> None:
    on = [
        name
        for name, secret in (
            ("/webhooks/zendesk", settings.zendesk_signing_secret),
            ("/webhooks/jira", settings.jira_webhook_secret),
            ("/events", settings.events_token),
        )
        if secret is not None
    ]
    click.echo(
        f"sla-processor ingest: http://{settings.ingest_host}:{settings.ingest_port} -> "
        f"{settings.events_topic} on {settings.bootstrap_servers}; on: {', '.join(on) or 'none'}; "
        f"{customers} customers",
        err=True,
    )


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
