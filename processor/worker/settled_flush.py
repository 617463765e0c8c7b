"""A producer whose `flush()` returns only once every buffered message is acked by the broker.

faust writes a table's changelog with `send_soon`: the record goes into the producer's buffer
and a background task hands it to aiokafka. Before it commits input offsets, on a partition
revocation and at shutdown, faust calls `Producer.flush()`, which drains that buffer with
`ProducerBuffer.flush()`. That drain (faust-streaming 0.15) gives up as soon as one message
takes longer than 0.1 s to be handed to aiokafka, and does not see the message being handed over
at that moment; aiokafka then flushes only what it already holds. When the broker is slow to ack
(acks=all on three replicas, a loaded machine, a leader moving), aiokafka's per-partition batch
is full, the hand-over waits for the ack, and `flush()` returns with changelog writes still in
faust's buffer. faust then commits offsets of records whose states are not in the changelog:

- at a hand-over, the new owner recovers the changelog without them and resumes after the
  committed offset, so those tickets' states are lost (a ticket's later events are applied to
  an empty ticket: alerts missing, others with other ids raised instead);
- at shutdown the buffer is dropped with the producer.

`SettledFlushProducer` keeps every future `send_soon` returns until it is resolved and makes
`flush()` wait for all of them after faust's own flush, so nothing is committed or handed over
before the broker acked the states of the records it covers. A write the broker refused for
good raises from `flush()`: faust does not commit, the worker stops, and its successor reads
those records again (at-least-once), instead of committing past a state that was never written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer as AIOKafkaProducer

__all__ = ["ChangelogWriteFailed", "SettledFlushProducer", "install_settled_flush"]

log = logging.getLogger(__name__)

SLOW_FLUSH_SECONDS = 10.0
"""Log (and keep waiting) when a flush has waited this long for the broker's acks."""


class ChangelogWriteFailed(RuntimeError):
    """A buffered write (a table's changelog) was refused by the broker for good."""


class SettledFlushProducer(AIOKafkaProducer):
    """faust's aiokafka producer; `flush()` also waits for every `send_soon` to be acked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unsettled: set[asyncio.Future[Any]] = set()
        self.failures: list[BaseException] = []

    def send_soon(self, fut: Any) -> None:
        self.unsettled.add(fut)
        fut.add_done_callback(self._settled)
        super().send_soon(fut)

    def _settled(self, fut: asyncio.Future[Any]) -> None:
        self.unsettled.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:
            self.failures.append(fut.exception())  # type: ignore[arg-type]

    async def flush(self) -> None:
        await super().flush()
        await self.settle()

    async def settle(self) -> None:
        """Wait until every message given to `send_soon` so far is acked; raise
        `ChangelogWriteFailed` if the broker refused one."""
        waiting = set(self.unsettled)
        while waiting:
            _, waiting = await asyncio.wait(waiting, timeout=SLOW_FLUSH_SECONDS)
            if waiting:
                log.warning("flush: %d buffered write(s) still wait for the broker", len(waiting))
        if self.failures:
            first = self.failures[0]
            raise ChangelogWriteFailed(
                f"{len(self.failures)} buffered write(s) failed, first: {type(first).__name__}: "
                f"{first}; not committing offsets past them"
            )


def install_settled_flush(app: faust.App) -> None:
    """Make the app's producer a `SettledFlushProducer` (call before the app starts)."""
    transport: Any = app.transport
    if not issubclass(SettledFlushProducer, transport.Producer):
        raise TypeError(
            f"broker transport {type(transport).__qualname__} does not use faust's aiokafka "
            "producer; the settled flush cannot be installed"
        )
    transport.Producer = SettledFlushProducer
