"""Kafka side of the `Publisher` protocol: alerts (acked before returning) and dead letters.

Alerts go straight to the app's producer (key-hashed partition, as `Topic.send` picks): faust's
topic path adds a FutureMessage, a task and the sensors per record. `sent(topic, n)` is told how
many were sent (faust's sent-messages metric)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from processor.domain.alerts import Alert
from processor.worker.service import Record

__all__ = ["KafkaPublisher"]


class KafkaPublisher:
    def __init__(
        self,
        alerts_topic: Any,
        dlq_topic: Any,
        sent: Callable[[str, int], None] | None = None,
    ) -> None:
        self._alerts, self._dlq, self._sent = alerts_topic, dlq_topic, sent

    async def alerts(self, alerts: list[Alert]) -> None:
        producer, topic = self._alerts.app.producer, self._alerts.get_topic_name()
        acks = [
            await producer.send(topic, a.ticket_id.encode(), a.to_json().encode(), None, None, None)
            for a in alerts
        ]
        await asyncio.gather(*acks)
        if self._sent is not None:
            self._sent(topic, len(acks))

    async def dead_letter(
        self, record: Record, reason: str, message: str, extra: list[tuple[str, bytes]]
    ) -> None:
        headers = [
            *record.headers,
            ("sla-dlq-reason", reason.encode()),
            ("sla-dlq-message", message.encode()[:4096]),
            ("sla-dlq-topic", record.topic.encode()),
            ("sla-dlq-partition", str(record.partition).encode()),
            ("sla-dlq-offset", str(record.offset).encode()),
            *extra,
        ]
        ack = await self._dlq.send(
            key=record.key, value=record.value or b"", headers=headers, force=True
        )
        await ack
