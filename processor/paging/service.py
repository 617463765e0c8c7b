"""Runs the forwarders of the configured targets side by side, with /metrics and /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from processor.paging.alertmanager import AlertmanagerTarget
from processor.paging.delivery import Backoff, Sender
from processor.paging.forwarder import Forwarder, Target
from processor.paging.metrics import PagingMetrics
from processor.paging.pagerduty import PagerDutyTarget
from processor.settings import PagingSettings, PagingTarget, Settings

__all__ = ["run_paging"]

log = logging.getLogger("processor.paging")


def _target(name: PagingTarget, paging: PagingSettings, sender: Sender) -> Target:
    if name == "alertmanager":
        return AlertmanagerTarget(paging, sender, lambda: datetime.now(UTC))
    return PagerDutyTarget(paging, sender)


async def run_paging(
    settings: Settings, paging: PagingSettings, registry: CollectorRegistry | None = None
) -> None:
    """Until SIGINT/SIGTERM; raises `Fatal` (after stopping everything) if a target refuses."""
    registry = registry or CollectorRegistry()
    metrics = PagingMetrics(registry)
    timeout = aiohttp.ClientTimeout(total=paging.paging_http_timeout)
    backoff = Backoff(paging.paging_retry_base, paging.paging_retry_max, random.Random())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        forwarders = [
            Forwarder(
                settings, paging, _target(n, paging, Sender(n, session, backoff, metrics)), metrics
            )
            for n in paging.paging_targets
        ]
        runner = await _serve(paging, registry, forwarders)
        try:
            await _run_all(forwarders, stop)
        finally:
            await runner.cleanup()


async def _run_all(forwarders: list[Forwarder], stop: asyncio.Event) -> None:
    tasks = [asyncio.create_task(f.run(stop), name=f.name) for f in forwarders]
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    failed = next((t for t in done if t is not stopping and t.exception() is not None), None)
    # A forwarder stuck retrying a dead target holds nothing worth waiting for: its batch is
    # not committed and will be repeated, so it is cancelled after a short grace.
    _, pending = await asyncio.wait(tasks, timeout=10)
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    stopping.cancel()
    if failed is not None:
        raise failed.exception()  # type: ignore[misc]


async def _serve(
    paging: PagingSettings, registry: CollectorRegistry, forwarders: list[Forwarder]
) -> web.AppRunner:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(_: web.Request) -> web.Response:
        ready = all(f.assigned.is_set() for f in forwarders)
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, paging.paging_web_host, paging.paging_web_port).start()
    return runner
