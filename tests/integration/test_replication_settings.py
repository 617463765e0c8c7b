"""Replication settings are checked against the real cluster at start-up (one broker here).

A replication factor larger than the brokers is one clear line from `topics create` and from the
worker, before anything is created; the topics the processor creates carry the configured
min.insync.replicas.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from worker_harness import REPO

pytestmark = pytest.mark.integration


def _run(kafka_bootstrap: str, unique_name: Any, *command: str, **env: str) -> tuple[int, str]:
    names = {
        "SLA_EVENTS_TOPIC": unique_name("ev"),
        "SLA_ALERTS_TOPIC": unique_name("al"),
        "SLA_DLQ_TOPIC": unique_name("dlq"),
        "SLA_APP_ID": unique_name("app"),
    }
    full = {**os.environ, **names, "SLA_BOOTSTRAP_SERVERS": kafka_bootstrap, **env}
    proc = subprocess.run(
        [sys.executable, "-m", "processor", *command],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


async def _topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _min_isr(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})
        [response] = await admin.describe_configs([resource])
        [entry] = response.to_object()["resources"][0]["config_entries"]
        return int(entry["config_value"])
    finally:
        await admin.close()


@pytest.mark.parametrize("command", [("topics", "create"), ("worker",)])
def test_more_replicas_than_brokers_is_one_line_and_creates_nothing(
    kafka_bootstrap: str, unique_name: Any, command: tuple[str, ...]
) -> None:
    before = asyncio.run(_topic_names(kafka_bootstrap))
    code, output = _run(kafka_bootstrap, unique_name, *command, SLA_REPLICATION_FACTOR="3")
    assert code == 1, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [
        f"Error: replication factor 3 (SLA_REPLICATION_FACTOR) is larger than the 1 broker(s) "
        f"of the cluster at {kafka_bootstrap}: set SLA_REPLICATION_FACTOR to 1 or less"
    ], output
    assert asyncio.run(_topic_names(kafka_bootstrap)) == before


def test_min_isr_above_the_replication_factor_is_a_settings_error(
    kafka_bootstrap: str, unique_name: Any
) -> None:
    code, output = _run(
        kafka_bootstrap, unique_name, "topics", "create", SLA_MIN_INSYNC_REPLICAS="2"
    )
    assert code == 1 and "min_insync_replicas 2 is larger than replication_factor 1" in output


def test_created_topics_carry_min_insync_replicas(kafka_bootstrap: str, unique_name: Any) -> None:
    alerts = unique_name("al")
    code, output = _run(kafka_bootstrap, unique_name, "topics", "create", SLA_ALERTS_TOPIC=alerts)
    assert code == 0, output
    assert asyncio.run(_min_isr(kafka_bootstrap, alerts)) == 1
