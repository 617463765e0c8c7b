"""On a real broker that stops answering for a moment (SIGSTOP, then SIGCONT): faust's producer
flush returns while buffered writes are neither sent nor acked, so the offsets it commits next
run ahead of the changelog; the worker's producer flush returns only once all are acked.

Each write is ~12 KiB, so each fills one of aiokafka's 16 KiB batches: while the first batch
waits for its acks, the second is full and the third write waits in aiokafka's `send`, the rest
in faust's buffer -- what a broker slow to ack (acks=all on three replicas, a leader moving)
does to a table's changelog writes.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from typing import Any

import faust
import pytest

from devtools import free_port
from processor.localkafka import LocalKafka
from processor.worker.settled_flush import install_settled_flush

pytestmark = pytest.mark.integration

WRITES = 6
PAUSE = 1.0  # seconds the broker does not answer


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker of this module's own: the test stops it for a moment."""
    kafka = LocalKafka(
        port=free_port(), controller_port=free_port(), data_dir=tmp_path_factory.mktemp("k")
    )
    kafka.start(timeout=120)
    try:
        yield kafka
    finally:
        kafka.stop()


async def _flush_during_a_pause(kafka: LocalKafka, topic_name: str, settled: bool) -> int:
    """Send WRITES with `send_soon` while the broker is stopped, resume it after PAUSE s,
    flush; returns how many writes were still unacked when the flush returned."""
    app = faust.App(f"flush-{topic_name}", broker=f"kafka://{kafka.bootstrap}")
    if settled:
        install_settled_flush(app)
    app.loop = asyncio.get_running_loop()
    topic = app.topic(topic_name, partitions=1, key_serializer="raw", value_serializer="raw")
    producer: Any = app.producer
    await producer.start()
    pid = kafka.running_pid()
    assert pid is not None
    try:
        await producer.create_topic(topic_name, partitions=1, replication=1)
        await (await topic.send(value=b"warm-up"))  # metadata known before the pause
        os.kill(pid, signal.SIGSTOP)
        try:
            sent = [topic.send_soon(value=bytes(12 * 1024)) for _ in range(WRITES)]
            await asyncio.sleep(0.3)  # the buffer hands over what aiokafka takes
            asyncio.get_running_loop().call_later(PAUSE, os.kill, pid, signal.SIGCONT)
            await asyncio.wait_for(producer.flush(), timeout=60)
        finally:
            os.kill(pid, signal.SIGCONT)
        unacked = sum(not fut.done() for fut in sent)
        await asyncio.wait_for(asyncio.gather(*sent), timeout=60)
        return unacked
    finally:
        await producer.stop()


def test_faust_flush_returns_before_buffered_writes_are_acked(
    own_broker: LocalKafka, unique_name: Any
) -> None:
    """The defect the worker works around; if this fails, faust fixed its flush."""
    assert asyncio.run(_flush_during_a_pause(own_broker, unique_name("plain"), False)) > 0


def test_the_worker_producer_flush_waits_for_every_ack(
    own_broker: LocalKafka, unique_name: Any
) -> None:
    assert asyncio.run(_flush_during_a_pause(own_broker, unique_name("settled"), True)) == 0
