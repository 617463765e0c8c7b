"""A `sla-processor simulate` run: realistic helpdesk traffic into Kafka (and/or a JSON-lines file).

The stream comes from the pure `model.generate`; this module reads the wall clock once (the start
instant), paces emissions in real time (unless `--fast`), produces them with aiokafka
(key = ticket_id, acks=all), mirrors every produced value to `--out` in produce order, and
reports progress on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import click

from processor.simulate.model import Emission, SimConfig, generate

__all__ = ["KAFKA_TIMEOUT", "Run", "Sink", "execute", "open_sink"]

KAFKA_TIMEOUT = 15.0
PROGRESS_EVERY = 2.0


@dataclass
class Stats:
    """Counts for the progress lines and the summary."""

    started: float = field(default_factory=time.monotonic)
    events: int = 0
    tickets: int = 0
    malformed: int = 0
    duplicates: int = 0

    def count(self, emission: Emission) -> None:
        self.events += 1
        self.malformed += emission.kind == "malformed"
        self.duplicates += emission.kind == "duplicate"
        created = emission.event is not None and emission.event["type"] == "ticket.created"
        self.tickets += emission.kind == "event" and created

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"{self.events:,} events sent, {self.tickets:,} tickets, "
            f"{self.events / elapsed:,.1f} events/s, {self.malformed:,} malformed, "
            f"{self.duplicates:,} duplicates in {elapsed:,.1f} s"
        )


class Sink:
    """Kafka producer and/or a binary file; `send` keeps produce order in both. Every wait on
    Kafka is bounded by KAFKA_TIMEOUT, so a broker that goes away ends the run with an error."""

    def __init__(self, producer: Any, topic: str, out: BinaryIO | None, owned: bool) -> None:
        self.producer, self.topic, self.out, self.owned = producer, topic, out, owned
        self.unconfirmed: deque[asyncio.Future[Any]] = deque()

    async def send(self, emission: Emission) -> None:
        if self.producer is not None:
            key = emission.ticket_id.encode()
            try:
                async with asyncio.timeout(KAFKA_TIMEOUT):
                    future = await self.producer.send(self.topic, emission.value, key=key)
            except Exception as exc:
                raise self._failed(exc) from None
            future.add_done_callback(_retrieve)
            self.unconfirmed.append(future)
            while self.unconfirmed and self.unconfirmed[0].done():
                self._check(self.unconfirmed.popleft())
        if self.out is not None:
            self.out.write(emission.value + b"\n")

    async def close(self, check: bool = True) -> None:
        """Close the file; wait until Kafka confirmed every event (raising the first failure,
        if `check`); stop the producer."""
        if self.out is not None:
            self.out.flush()
            if self.owned:
                self.out.close()
        if self.producer is None:
            return
        try:
            if check:
                await self._confirm_all()
        except asyncio.CancelledError:
            raise  # aborted by a second Ctrl-C: no more waiting for Kafka
        except click.ClickException:
            await self._stop()
            raise
        await self._stop()

    async def _stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.producer.stop(), 5)

    async def _confirm_all(self) -> None:
        pending = list(self.unconfirmed)
        if pending:
            _, late = await asyncio.wait(pending, timeout=KAFKA_TIMEOUT)
            if late:
                raise self._failed(f"{len(late)} events not confirmed in {KAFKA_TIMEOUT:g} s")
        for future in pending:
            self._check(future)

    def _check(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            raise self._failed("delivery cancelled")
        if future.exception() is not None:
            raise self._failed(future.exception())

    def _failed(self, why: object) -> click.ClickException:
        reason = f"no answer in {KAFKA_TIMEOUT:g} s" if isinstance(why, TimeoutError) else why
        return click.ClickException(f"producing to topic {self.topic!r} failed: {reason!s}")


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a failed delivery as seen (the first failure is reported, not all of them)."""
    if not future.cancelled():
        future.exception()


async def open_sink(bootstrap: str | None, topic: str, out: Path | None) -> Sink:
    """The Sink of a run; with Kafka, fails within KAFKA_TIMEOUT naming the servers."""
    try:
        file = out.open("wb") if out is not None else None
    except OSError as exc:
        raise click.ClickException(f"cannot write --out {out}: {exc.strerror}") from None
    try:
        producer = None if bootstrap is None else await _start_producer(bootstrap, topic)
    except BaseException:
        if file is not None:
            file.close()
        raise
    if file is not None:
        return Sink(producer, topic, file, owned=True)
    stdout = None if producer is not None else click.get_binary_stream("stdout")
    return Sink(producer, topic, stdout, owned=False)


async def _start_producer(bootstrap: str, topic: str) -> Any:
    from aiokafka import AIOKafkaProducer

    kwargs = _client_kwargs(bootstrap)
    _silence_client_logs()
    producer = AIOKafkaProducer(
        **kwargs, acks="all", enable_idempotence=True, linger_ms=5, request_timeout_ms=15_000
    )
    try:
        async with asyncio.timeout(KAFKA_TIMEOUT):
            await producer.start()
            await producer.partitions_for(topic)  # creates it if the broker auto-creates
    except Exception as exc:
        await producer.stop()
        reason = f"no answer in {KAFKA_TIMEOUT:g} s" if isinstance(exc, TimeoutError) else exc
        raise click.ClickException(
            f"cannot produce to topic {topic!r} on Kafka at {bootstrap}: {reason}"
        ) from None
    return producer


def _client_kwargs(bootstrap: str) -> dict[str, object]:
    """Connection arguments as the worker's (`SLA_SECURITY_PROTOCOL`, `SLA_SASL_*`, ...)."""
    from pydantic import ValidationError

    from processor.kafka.client import client_kwargs
    from processor.settings import Settings

    try:
        return client_kwargs(Settings(bootstrap_servers=bootstrap))
    except ValidationError as exc:
        problems = "; ".join(e["msg"] for e in exc.errors(include_url=False))
        raise click.ClickException(f"invalid SLA_* settings: {problems}") from None


def _silence_client_logs() -> None:
    """aiokafka logs every failed connection attempt; our own error names the servers."""
    if not logging.getLogger().handlers:
        logging.getLogger("aiokafka").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Run:
    """What the command was asked to do, validated."""

    config: SimConfig
    topic: str
    bootstrap: str | None  # None: --no-kafka
    out: Path | None
    fast: bool
    quiet: bool


async def execute(run: Run) -> None:
    """The run: open the sink, send the events paced (Ctrl-C stops, flushed), report."""
    stop = asyncio.Event()
    with _on_signals(stop):
        sink = await open_sink(run.bootstrap, run.topic, run.out)
        _say(run, _banner(run))
        stats, outcome = Stats(), "failed"
        try:
            await _pump(run, sink, stats, stop)
            outcome = "stopped" if stop.is_set() else "done"
        except asyncio.CancelledError:
            outcome = "aborted"
            raise
        finally:
            try:
                await sink.close(check=outcome in ("stopped", "done"))
            finally:
                _say(run, f"{outcome}: {stats.line()}")


@contextlib.contextmanager
def _on_signals(stop: asyncio.Event) -> Iterator[None]:
    """A first Ctrl-C (or SIGTERM) stops after the current event and flushes; a second aborts."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()

    def handle() -> None:
        if stop.is_set() and task is not None:
            task.cancel()
        stop.set()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError):  # not the main thread: no handler
            loop.add_signal_handler(sig, handle)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _pump(run: Run, sink: Sink, stats: Stats, stop: asyncio.Event) -> None:
    """Send the emissions in order, each at its emit time (at once with --fast)."""
    pacer = _Pacer(run, stats, stop)
    for emission in generate(run.config):
        if not await pacer.until(emission.emit_at):
            return
        await sink.send(emission)
        stats.count(emission)
        if stats.events % 100 == 0:
            await asyncio.sleep(0)  # let Ctrl-C and the producer's I/O in when --fast
        pacer.progress()
    if run.config.duration is not None:  # a paced --duration run lasts that long
        await pacer.until(run.config.start + run.config.duration)


class _Pacer:
    """Real-time pacing on the event loop's monotonic clock, progress every PROGRESS_EVERY."""

    def __init__(self, run: Run, stats: Stats, stop: asyncio.Event) -> None:
        self.run, self.stats, self.stop = run, stats, stop
        self.loop = asyncio.get_running_loop()
        self.origin, self.last = self.loop.time(), stats.started

    async def until(self, instant: datetime) -> bool:
        """Wait until `instant` of the simulated clock; False if stopped meanwhile."""
        due = self.origin + (instant - self.run.config.start).total_seconds()
        while not self.run.fast and not self.stop.is_set() and self.loop.time() < due:
            wait = min(due - self.loop.time(), PROGRESS_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)
            self.progress()
        return not self.stop.is_set()

    def progress(self) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            _say(self.run, self.stats.line())


def _banner(run: Run) -> str:
    c = run.config
    limit = f"{c.tickets} tickets" if c.tickets is not None else "no ticket limit"
    where = f"topic {run.topic} at {run.bootstrap}" if run.bootstrap else "no Kafka"
    return (
        f"seed {c.seed}, {c.rate:g} tickets/s, {limit}, duration {c.duration or 'unlimited'}, "
        f"backdate {c.backdate}, start {c.start.isoformat()} -> {where}"
        + (f", --out {run.out}" if run.out else "")
        + (", --fast" if run.fast else ", Ctrl-C to stop")
    )


def _say(run: Run, text: str) -> None:
    if not run.quiet:
        click.echo(f"simulate: {text}", err=True)
