"""Shared fixtures: a real Kafka broker for integration tests and unique topic/group names.

``kafka_bootstrap`` uses ``$KAFKA_BOOTSTRAP_SERVERS`` when set; otherwise it starts one
``LocalKafka`` (Apache Kafka, KRaft, 127.0.0.1) on free ports with a fresh data dir, once per
session and only if a collected test asks for it, and stops it when the session ends.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from devtools import Topics, WorkerProcess, create_topics
from processor.localkafka import LocalKafka

ENV_BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"


def _free_ports(count: int) -> list[int]:
    """Ports the OS hands out as free right now (all held open together so they differ)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def _uncaptured(config: pytest.Config) -> Iterator[None]:
    """Let the one-time "fetching Apache Kafka ..." progress reach the terminal."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield


@pytest.fixture(scope="session")
def local_kafka(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalKafka | None]:
    """The broker this session started, or None when ``$KAFKA_BOOTSTRAP_SERVERS`` is used."""
    if os.environ.get(ENV_BOOTSTRAP):
        yield None
        return
    port, controller_port = _free_ports(2)
    data_dir = tmp_path_factory.mktemp("kafka")
    kafka = LocalKafka(port=port, controller_port=controller_port, data_dir=data_dir)
    with _uncaptured(request.config):
        kafka.start(timeout=120)
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(local_kafka: LocalKafka | None) -> str:
    """``host:port[,host:port]`` of a real, ready Kafka broker."""
    if local_kafka is None:
        return os.environ[ENV_BOOTSTRAP]
    return local_kafka.bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Factory for topic names and group ids: ``unique_name("orders")`` ->
    ``orders-test_foo-1a2b3c4d`` (valid Kafka name, unique per call)."""
    test = re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.name)[:80]

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def topics(unique_name: Callable[[str], str], kafka_bootstrap: str) -> Topics:
    """A test's own input, alerts and DLQ topics and application id, created on the broker."""
    t = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app"))
    asyncio.run(create_topics(kafka_bootstrap, t))
    return t


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test shows the end of the log of each worker it started (faust's tables left
    out): a rare failure in CI is then explained by its own report."""
    report = yield
    started = getattr(item, "funcargs", {}).get("workers") if report.when == "call" else None
    if report.failed and started:
        for w in started:
            lines = [ln for ln in w.tail(2000).splitlines() if not ln.startswith(("|", "+"))]
            report.sections.append((f"worker log {w.log_path}", "\n".join(lines[-80:])))
    return report


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes a test starts (append them); each is stopped after the test."""
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.stop()
