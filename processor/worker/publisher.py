"""Kafka side of the `Publisher` protocol: alerts (acked before returning) and dead letters."""

from __future__ import annotations

import asyncio
from typing import Any

from processor.domain.alerts import Alert
from processor.worker.service import Record

__all__ = ["KafkaPublisher"]


class KafkaPublisher:
    def __init__(self, alerts_topic: Any, dlq_topic: Any) -> None:
        self._alerts, self._dlq = alerts_topic, dlq_topic

    async def alerts(self, alerts: list[Alert]) -> None:
        acks = [
            await self._alerts.send(
                key=a.ticket_id.encode(), value=a.to_json().encode(), force=True
            )
            for a in alerts
        ]
        await asyncio.gather(*acks)

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
