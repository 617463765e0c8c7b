"""`sla-processor page`: forward `sla.alerts` to Alertmanager and/or PagerDuty."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import click
from pydantic import ValidationError

from processor.settings import PagingSettings

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
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info"
)
def page(bootstrap_servers: str | None, log_level: str, **flags: Any) -> None:
    """Forward alerts to on-call tools until stopped (Ctrl-C or SIGTERM).

    Each target has its own consumer group on the alerts topic; an offset is committed only
    after the target accepted every alert before it. Settings: SLA_PAGING_*, SLA_ALERTMANAGER_*,
    SLA_PAGERDUTY_* (the routing key is a secret: set it in the environment only).
    """
    from processor.ops_cli import settings_from
    from processor.paging.delivery import Fatal
    from processor.paging.service import run_paging

    settings = settings_from(bootstrap_servers=bootstrap_servers)
    flags["paging_targets"] = tuple(flags["paging_targets"]) or None
    paging = paging_settings_from(**flags)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    click.echo(
        f"sla-processor page: {settings.alerts_topic} -> {', '.join(paging.paging_targets)}; "
        f"http://{paging.paging_web_host}:{paging.paging_web_port}/metrics",
        err=True,
    )
    try:
        asyncio.run(run_paging(settings, paging))
    except Fatal as exc:
        raise click.ClickException(f"{exc}; stopped, nothing committed past it") from None
