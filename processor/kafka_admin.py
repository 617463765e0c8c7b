"""Small admin operations on the processor's topics (aiokafka's admin client)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError

from processor.settings import Settings, kafka_client_kwargs
from processor.topicspec import TopicSpec, topic_specs

__all__ = ["AdminError", "ensure_topics", "partition_counts"]


class AdminError(RuntimeError):
    """A readable reason why the topics could not be checked or created."""


async def _admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(request_timeout_ms=15000, **kafka_client_kwargs(settings))
    try:
        await admin.start()
    except (KafkaConnectionError, KafkaError, OSError) as exc:
        await admin.close()
        raise AdminError(
            f"cannot reach Kafka at {settings.bootstrap_servers} "
            f"({settings.security_protocol}): {exc}"
        ) from None
    return admin


async def partition_counts(settings: Settings, names: list[str]) -> dict[str, int | None]:
    """Partitions of each topic, None for a topic that does not exist."""
    admin = await _admin(settings)
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {t["topic"]: (len(t["partitions"]) if t["error_code"] == 0 else None) for t in described}


async def ensure_topics(
    settings: Settings, specs: list[TopicSpec] | None = None
) -> list[tuple[str, str]]:
    """Create the missing topics; returns (name, "created" | "exists") for each spec."""
    specs = specs if specs is not None else topic_specs(settings)
    counts = await partition_counts(settings, [s.name for s in specs])
    missing = [s for s in specs if counts.get(s.name) is None]
    if missing:
        admin = await _admin(settings)
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        s.name,
                        num_partitions=s.partitions,
                        replication_factor=settings.replication_factor,
                        topic_configs=s.kafka_configs(),
                    )
                    for s in missing
                ]
            )
        finally:
            await admin.close()
    return [(s.name, "created" if s in missing else "exists") for s in specs]


async def check_input_partitions(settings: Settings) -> None:
    """The ticket table is co-partitioned with the input topic: their counts must agree."""
    found = (await partition_counts(settings, [settings.events_topic]))[settings.events_topic]
    if found is not None and found != settings.partitions:
        raise AdminError(
            f"input topic {settings.events_topic!r} has {found} partitions but the worker is "
            f"configured for {settings.partitions} (SLA_PARTITIONS); set SLA_PARTITIONS={found} "
            "so the ticket table matches the topic"
        )
