"""`sla-processor worker`: the live SLA worker (Faust)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from processor.commands.options import settings_from, worker_options

__all__ = ["worker"]


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
    from processor.kafka.admin import AdminError, check_input_partitions, ensure_topics
    from processor.worker.app import create_app
    from processor.worker.faust_compat import FaustCompatError

    settings = settings_from(**flags)
    try:
        sla = create_app(settings)
        asyncio.run(ensure_topics(settings))
        asyncio.run(check_input_partitions(settings))
    except (PolicyError, AdminError, FaustCompatError) as exc:
        raise click.ClickException(str(exc)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    click.echo(
        f"sla-processor worker: {settings.bootstrap_servers} -> {settings.alerts_topic}; "
        f"http://{settings.web_host}:{settings.web_port}/metrics",
        err=True,
    )
    Worker(sla.faust, loglevel=settings.log_level, quiet=True).execute_from_commandline()
