"""The one producer of ingest: acks=all, idempotent, key = ticket_id, bounded wait for the ack.

`store` returns only once the broker acknowledged every record of a request, or raises
`BrokerUnavailable` after `timeout` seconds, so the HTTP answer can be 503 well inside the
helpdesks' own timeouts. A record whose wait timed out may still be written later; the helpdesk's
retry then repeats its `event_id`, which the core ignores.

While the broker is failing, one request at a time probes it; the others are refused at once
without queueing their records, so a long outage cannot fill memory with records nobody waits for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from processor.kafka.client import client_kwargs
from processor.settings import IngestSettings

__all__ = ["BrokerUnavailable", "EventProducer"]

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (down, no leader, or unreachable)."""


class EventProducer:
    def __init__(self, settings: IngestSettings) -> None:
        self.settings, self.topic = settings, settings.events_topic
        self._producer: AIOKafkaProducer | None = None
        self.healthy = False
        self._probing = False

    def _client(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **client_kwargs(self.settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=1,
            request_timeout_ms=int(max(self.settings.produce_timeout, 1.0) * 1000) + 2000,
            retry_backoff_ms=100,
            max_request_size=1024 * 1024,
        )

    async def start(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 (a start-up deadline)
        """Connect; retries until `timeout` so ingest may start just before the broker."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            producer = self._client()
            try:
                await producer.start()
                self._producer, self.healthy = producer, True
                return
            except KafkaError as exc:
                await producer.stop()
                if loop.time() >= deadline:
                    raise BrokerUnavailable(f"cannot reach Kafka: {exc}") from None
                log.warning("Kafka not reachable yet (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def store(self, records: Sequence[tuple[bytes, bytes]], timeout: float) -> None:  # noqa: ASYNC109
        """Send (key, value) records and wait for every ack, at most `timeout` seconds."""
        probe = not self.healthy
        if probe and self._probing:
            raise BrokerUnavailable("broker failing; another request is probing it")
        self._probing = self._probing or probe
        try:
            await asyncio.wait_for(self._send_all(records), timeout)
        except (TimeoutError, KafkaError) as exc:
            self.healthy = False
            raise BrokerUnavailable(type(exc).__name__) from None
        finally:
            if probe:
                self._probing = False
        self.healthy = True

    async def _send_all(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        producer = self._producer
        if producer is None:
            raise KafkaError("producer not started")
        acks = [await producer.send(self.topic, value, key=key) for key, value in records]
        await asyncio.gather(*acks)
