"""Small admin operations on the processor's topics (aiokafka's admin client)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from processor.kafka.client import client_kwargs
from processor.settings import Settings
from processor.topicspec import TopicSpec, topic_specs

__all__ = ["AdminError", "check_input_partitions", "ensure_topics", "partition_counts"]


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
