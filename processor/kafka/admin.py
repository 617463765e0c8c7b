"""Small admin operations on the processor's topics (aiokafka's admin client)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from processor.kafka.client import client_kwargs
from processor.settings import Settings
from processor.topicspec import TopicSpec, changelog_topic, topic_specs

__all__ = [
    "AdminError",
    "check_input_partitions",
    "check_replication",
    "ensure_topics",
    "partition_counts",
]


class AdminError(RuntimeError):
    """A readable reason why the topics could not be checked or created."""


class _ConnectErrors(logging.Filter):
    """Keeps the per-host errors aiokafka logs while bootstrapping (instead of printing them)."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.levelno >= logging.ERROR and args and isinstance(args[-1], BaseException):
            self.errors.append(args[-1])
            return False
        return True


@contextmanager
def _connect_errors() -> Iterator[_ConnectErrors]:
    logger = logging.getLogger("aiokafka")  # aiokafka.client logs under this name
    errors = _ConnectErrors()
    logger.addFilter(errors)
    try:
        yield errors
    finally:
        logger.removeFilter(errors)


def _reason(settings: Settings, exc: BaseException, causes: list[BaseException]) -> str:
    """One line on why the connection failed; never includes the password."""
    where = f"Kafka at {settings.bootstrap_servers} ({settings.security_protocol})"
    for cause in causes:
        if isinstance(cause, SaslAuthenticationFailed):
            return (
                f"authentication failed for user {settings.sasl_username!r} "
                f"({settings.sasl_mechanism}) on {where}: check SLA_SASL_USERNAME and "
                "SLA_SASL_PASSWORD"
            )
        if isinstance(cause, UnsupportedSaslMechanismError):
            return (
                f"SASL mechanism {settings.sasl_mechanism} is not enabled on {where}: "
                "check SLA_SASL_MECHANISM"
            )
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"TLS certificate of {where} is not trusted ({cause.verify_message}): "
                "check SLA_SSL_CAFILE"
            )
        if isinstance(cause, ssl.SSLError):
            return (
                f"TLS handshake with {where} failed ({cause.reason}): check SLA_SECURITY_PROTOCOL"
            )
    detail = causes[-1] if causes else exc
    text = str(detail)
    if type(detail).__name__ not in text:
        text = f"{type(detail).__name__}: {text}"
    return f"cannot reach {where}: {text}"


async def _admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(request_timeout_ms=15000, **client_kwargs(settings))
    with _connect_errors() as seen:
        try:
            await admin.start()
        except (KafkaConnectionError, KafkaError, OSError) as exc:
            await admin.close()
            raise AdminError(_reason(settings, exc, seen.errors)) from None
    return admin


async def partition_counts(settings: Settings, names: list[str]) -> dict[str, int | None]:
    """Partitions of each topic, None for a topic that does not exist."""
    admin = await _admin(settings)
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {t["topic"]: (len(t["partitions"]) if t["error_code"] == 0 else None) for t in described}


async def check_replication(settings: Settings, names: list[str] | None = None) -> None:
    """The replication settings fit the cluster: no more replicas than brokers, and the
    existing topics (default: input, alerts, DLQ, changelog) have at least the configured
    replicas and min.insync.replicas. Raises AdminError with one line saying what to change."""
    names = names if names is not None else _topic_names(settings)
    admin = await _admin(settings)
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
        if settings.replication_factor > brokers:
            raise AdminError(
                f"replication factor {settings.replication_factor} (SLA_REPLICATION_FACTOR) is "
                f"larger than the {brokers} broker(s) of the cluster at "
                f"{settings.bootstrap_servers}: set SLA_REPLICATION_FACTOR to {brokers} or less"
            )
        described = await admin.describe_topics(names)
        existing = [t for t in described if t["error_code"] == 0 and t["partitions"]]
        for topic in existing:
            replicas = min(len(p["replicas"]) for p in topic["partitions"])
            if replicas < settings.replication_factor:
                raise AdminError(
                    f"topic {topic['topic']!r} has {replicas} replica(s) but "
                    f"SLA_REPLICATION_FACTOR is {settings.replication_factor}: reassign its "
                    "partitions to more brokers (kafka-reassign-partitions) or lower the setting"
                )
        await _check_min_isr(admin, settings, [t["topic"] for t in existing])
    finally:
        await admin.close()


def _topic_names(settings: Settings) -> list[str]:
    return [*(s.name for s in topic_specs(settings)), changelog_topic(settings)]


async def _check_min_isr(admin: AIOKafkaAdminClient, settings: Settings, names: list[str]) -> None:
    if not names:
        return
    key = "min.insync.replicas"
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, {key: None}) for name in names]
    for response in await admin.describe_configs(resources):
        for resource in response.to_object()["resources"]:
            for entry in resource["config_entries"]:
                found = int(entry["config_value"])
                if entry["config_names"] == key and found < settings.min_insync_replicas:
                    raise AdminError(
                        f"topic {resource['resource_name']!r} has min.insync.replicas={found} "
                        f"but SLA_MIN_INSYNC_REPLICAS is {settings.min_insync_replicas}: raise "
                        f"it with kafka-configs --alter --add-config {key}="
                        f"{settings.min_insync_replicas} or lower the setting"
                    )


async def ensure_topics(
    settings: Settings, specs: list[TopicSpec] | None = None
) -> list[tuple[str, str]]:
    """Check the replication settings against the cluster (see check_replication), then
    create the missing topics; returns (name, "created" | "exists") for each spec."""
    specs = specs if specs is not None else topic_specs(settings)
    await check_replication(settings, [*(s.name for s in specs), changelog_topic(settings)])
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
                        topic_configs={
                            **s.kafka_configs(),
                            "min.insync.replicas": str(settings.min_insync_replicas),
                        },
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
