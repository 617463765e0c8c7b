"""`sla-processor page`: forward `sla.alerts` to Alertmanager and/or PagerDuty."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import click
from pydantic import ValidationError

from processor.settings import PagingSettings, Settings

__all__ = ["page", "paging_settings_from"]


def paging_settings_from(**overrides: Any) -> PagingSettings:
    """Paging settings from the environment, then the flags given; exits with a readable error."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return PagingSettings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        )
        raise click.ClickException(f"invalid paging settings: {problems}") from None


@click.command()
@click.option("--bootstrap-servers", help="Kafka bootstrap servers [SLA_BOOTSTRAP_SERVERS].")
@click.option(
    "--target",
    "paging_targets",
    multiple=True,
    type=click.Choice(["alertmanager", "pagerduty"]),
    help="Target to forward to; repeat for both [SLA_PAGING_TARGETS, JSON list].",
)
@click.option("--alertmanager-url", help="Alertmanager base URL [SLA_ALERTMANAGER_URL].")
@click.option(
    "--web-port", "paging_web_port", type=int, help="/metrics port [SLA_PAGING_WEB_PORT]."
)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="[SLA_LOG_LEVEL]"
)
def page(bootstrap_servers: str | None, log_level: str | None, **flags: Any) -> None:
    """Forward alerts to on-call tools until stopped (Ctrl-C or SIGTERM).

    Each target has its own consumer group on the alerts topic; an offset is committed only
    after the target accepted every alert before it. Settings: SLA_PAGING_*, SLA_ALERTMANAGER_*,
    SLA_PAGERDUTY_* (the routing key is a secret: set it in the environment only).
    """
    from processor.commands.options import settings_from
    from processor.kafka.admin import AdminError
    from processor.paging.delivery import Fatal
    from processor.paging.service import run_paging

    settings = settings_from(bootstrap_servers=bootstrap_servers, log_level=log_level)
    flags["paging_targets"] = tuple(flags["paging_targets"]) or None
    paging = paging_settings_from(**flags)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(message)s",
        force=True,
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    click.echo(
        f"sla-processor page: {settings.alerts_topic} -> {', '.join(paging.paging_targets)}; "
        f"http://{paging.paging_web_host}:{paging.paging_web_port}/metrics",
        err=True,
    )
    try:
        asyncio.run(_check_topic(settings))
        asyncio.run(run_paging(settings, paging))
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    except Fatal as exc:
        raise click.ClickException(f"{exc}; stopped, nothing committed past it") from None


async def _check_topic(settings: Settings) -> None:
    """Kafka reachable (one clear line if not) and the alerts topic there."""
    from processor.kafka.admin import partition_counts

    counts = await partition_counts(settings, [settings.alerts_topic])
    if counts[settings.alerts_topic] is None:
        raise click.ClickException(
            f"topic {settings.alerts_topic!r} does not exist on {settings.bootstrap_servers} "
            "(run `sla-processor topics create`, or start the worker)"
        )
