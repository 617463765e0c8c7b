"""`processor.worker.settled_flush`: faust's producer flush returns while changelog writes still
wait in its buffer when the broker is slow to take them; the worker's producer waits for them.

The broker is played by a channel whose hand-over to "aiokafka" takes `HAND_OVER` seconds (what
aiokafka's `send` does when the partition's batch is full and the previous one awaits its acks)
and whose ack comes `ACK` seconds later. Everything else is faust's own producer and buffer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types.tuples import FutureMessage, PendingMessage

from processor.settings import Settings
from processor.worker.app import create_app
from processor.worker.settled_flush import (
    ChangelogWriteFailed,
    SettledFlushProducer,
    install_settled_flush,
)

HAND_OVER = 0.15  # longer than the 0.1 s faust's buffer flush waits for one message
ACK = 0.05


class SlowBroker:
    """Stands in for a topic channel: `publish_message` as faust's buffer calls it."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse

    async def publish_message(self, fut: FutureMessage, wait: bool = False) -> None:
        await asyncio.sleep(HAND_OVER)
        loop = asyncio.get_running_loop()
        if self.refuse:
            loop.call_later(ACK, fut.set_exception, OSError("NOT_ENOUGH_REPLICAS"))
        else:
            loop.call_later(ACK, fut.set_result, "acked")


def _message(channel: Any, n: int) -> FutureMessage:
    pending = PendingMessage(channel, f"k{n}".encode(), b"v", 0, None, None, "raw", "raw", None)
    return FutureMessage(pending)


async def _started(app: faust.App) -> AsyncIterator[Any]:
    app.loop = asyncio.get_running_loop()
    producer: Any = app.producer
    await producer.buffer.start()  # the task that hands buffered messages over
    try:
        yield producer
    finally:
        await producer.buffer.stop()


@pytest.fixture
async def faust_producer() -> AsyncIterator[Any]:
    async for producer in _started(faust.App("flush-plain", broker="kafka://127.0.0.1:1")):
        yield producer


@pytest.fixture
async def settled_producer() -> AsyncIterator[Any]:
    app = faust.App("flush-settled", broker="kafka://127.0.0.1:1")
    install_settled_flush(app)
    async for producer in _started(app):
        yield producer


async def test_faust_flush_returns_with_writes_still_buffered(faust_producer: Any) -> None:
    """The defect the worker works around: if this fails, faust fixed its flush."""
    sent = [_message(SlowBroker(), n) for n in range(4)]
    for fut in sent:
        faust_producer.send_soon(fut)
    await faust_producer.buffer.flush()
    assert not all(fut.done() for fut in sent)
    assert faust_producer.buffer.size > 0
    await asyncio.wait(sent)


async def test_settled_flush_returns_only_once_every_write_is_acked(
    settled_producer: Any,
) -> None:
    sent = [_message(SlowBroker(), n) for n in range(4)]
    for fut in sent:
        settled_producer.send_soon(fut)
    await settled_producer.flush()
    assert all(fut.done() and fut.result() == "acked" for fut in sent)
    assert settled_producer.buffer.size == 0 and not settled_producer.unsettled
    await settled_producer.flush()  # nothing pending: returns at once


async def test_a_refused_write_makes_flush_raise_so_faust_does_not_commit(
    settled_producer: Any,
) -> None:
    settled_producer.send_soon(_message(SlowBroker(refuse=True), 0))
    with pytest.raises(ChangelogWriteFailed, match=r"1 buffered write.*NOT_ENOUGH_REPLICAS"):
        await settled_producer.flush()


def test_the_worker_app_uses_the_settled_producer(tmp_path: Path) -> None:
    sla = create_app(Settings(store="memory://", data_dir=tmp_path))
    assert isinstance(sla.faust.transport.create_producer(), SettledFlushProducer)
