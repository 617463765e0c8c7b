"""A local broker with a PLAINTEXT and a SASL_SSL (SCRAM-SHA-512) listener, and secured clients."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from processor.localkafka import LocalKafka
from processor.localkafka.security import ScramUser, ensure_tls_material, sasl_ssl

SCRAM_USER = "sla-worker"


def free_ports(count: int) -> list[int]:
    """Distinct ports that are free right now (held open together while choosing)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def distinctive_password(label: str) -> str:
    """A random password that cannot occur by accident in any log line or page."""
    return f"{label}-{secrets.token_hex(12)}"


@dataclass
class SecureBroker:
    """One running broker: ``plain`` for setup, ``secure`` (SASL_SSL) for everything tested."""

    kafka: LocalKafka
    plain: str
    secure: str
    cafile: Path
    user: str
    password: str = field(repr=False)

    def client_kwargs(self, user: str | None = None, password: str | None = None) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.secure,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": user or self.user,
            "sasl_plain_password": password or self.password,
            "ssl_context": ssl.create_default_context(cafile=str(self.cafile)),
        }

    def worker_env(self, password: str | None = None, **extra: str) -> dict[str, str]:
        """The worker's ``SLA_*`` security settings for the SASL_SSL listener."""
        return {
            "SLA_SECURITY_PROTOCOL": "SASL_SSL",
            "SLA_SASL_MECHANISM": "SCRAM-SHA-512",
            "SLA_SASL_USERNAME": self.user,
            "SLA_SASL_PASSWORD": password or self.password,
            "SLA_SSL_CAFILE": str(self.cafile),
            **extra,
        }


def start_secure_broker(data_dir: Path, timeout: float = 120.0) -> SecureBroker:
    """Start a broker with an extra SASL_SSL listener and one SCRAM user; stop it when done."""
    port, controller_port, sasl_port = free_ports(3)
    password = distinctive_password("scram")
    config = sasl_ssl(ensure_tls_material(data_dir), sasl_port, [ScramUser(SCRAM_USER, password)])
    kafka = LocalKafka(
        port,
        controller_port,
        data_dir,
        extra_listeners=[config.listener],
        extra_properties=config.properties,
        extra_format_args=config.format_args,
    )
    kafka.start(timeout=timeout)
    broker = SecureBroker(
        kafka, kafka.bootstrap, config.bootstrap, config.cafile, SCRAM_USER, password
    )
    try:
        asyncio.run(wait_secure_ready(broker, timeout=30.0))
    except BaseException:
        kafka.stop()
        raise
    return broker


async def wait_secure_ready(broker: SecureBroker, timeout: float) -> None:  # noqa: ASYNC109
    """Until an authenticated admin client gets metadata over SASL_SSL (bounded)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(request_timeout_ms=5000, **broker.client_kwargs())
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:  # not up yet: retry until the deadline
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise AssertionError(f"SASL_SSL listener {broker.secure} not usable after {timeout}s: {last}")


async def produce_secure(broker: SecureBroker, topic: str, events: list[dict[str, Any]]) -> None:
    """JSON events keyed by ticket_id, over SASL_SSL, acknowledged by the broker."""
    producer = AIOKafkaProducer(acks="all", **broker.client_kwargs())
    await producer.start()
    try:
        for event in events:
            await producer.send(topic, json.dumps(event).encode(), key=event["ticket_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def read_secure(
    broker: SecureBroker,
    topic: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30.0,  # noqa: ASYNC109 (a plain deadline loop)
) -> list[dict[str, Any]]:
    """Read JSON records of ``topic`` from the beginning over SASL_SSL until ``done(records)``."""
    deadline = time.monotonic() + timeout
    count = await partition_count(broker, topic, timeout)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **broker.client_kwargs())
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while time.monotonic() < deadline and not done(records):
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(json.loads(r.value) for r in recs)
    finally:
        await consumer.stop()
    return records


async def partition_count(broker: SecureBroker, topic: str, timeout: float) -> int:  # noqa: ASYNC109
    """Partitions of ``topic``, asked over SASL_SSL (waits for a topic that is being created)."""
    admin = AIOKafkaAdminClient(request_timeout_ms=5000, **broker.client_kwargs())
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = await admin.describe_topics([topic])
            if described and described[0]["error_code"] == 0 and described[0]["partitions"]:
                return len(described[0]["partitions"])
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    raise AssertionError(f"topic {topic} does not exist on {broker.secure}")


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def created(tid: str, at: datetime, tier: str, prio: int) -> dict[str, Any]:
    return {
        "type": "ticket.created",
        "event_id": f"{tid}-c",
        "ticket_id": tid,
        "occurred_at": iso(at),
        "customer_id": f"cust-{tid}",
        "tier": tier,
        "priority": prio,
        "timezone": "UTC",
    }


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every regular file under ``root`` whose bytes contain ``needle``."""
    data = needle.encode()
    hits = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and data in path.read_bytes():
                hits.append(path)
        except OSError:
            continue
    return hits
