"""Crashes, broker restarts and rebalances: no alert lost, none invented, duplicates counted.

Every scenario: ~50,000 (crashes) or ~20,000 simulator records, all dated in the past, loaded into
a fresh input topic; the expected alerts come from `replay` of the same records (see
chaos_helpers). Run with `make test-chaos`; `-s` shows the counts.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest
from chaos_helpers import judge, kill_repeatedly, scenario, utcnow
from cluster_helpers import wait_group_caught_up

from devtools import (
    Topics,
    WorkerProcess,
    alerts_of,
    create_topics,
    produce,
    read_all,
    wait_caught_up,
)
from processor.localkafka import LocalKafka

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


def _finish(bootstrap: str, topics: Topics, values: list[bytes], name: str) -> None:
    time.sleep(3)  # a few ticks after the catch-up raise what is due now
    end = utcnow()
    got = alerts_of(asyncio.run(read_all(bootstrap, topics.alerts, idle=3, timeout=120)))
    # The worker keeps raising what falls due while the alerts are read (slowly on a busy
    # machine): those may be there too, none due later.
    verdict = judge(values, got, end, read_until=utcnow())
    print("\n" + verdict.line(name))
    assert not verdict.missing, f"{len(verdict.missing)} expected alerts never arrived"
    unexpected = [
        (a["alert_id"], a.get("type"), a.get("due_at"), a.get("emitted_at"))
        for a in got
        if a["alert_id"] in verdict.unexpected
    ]
    assert not unexpected, (
        f"{len(unexpected)} alerts replay does not expect (end {end}): {unexpected}"
    )
    assert verdict.required > 100  # the scenario really exercised the timers


def test_kill_9_five_times_during_50k_events(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    values, keys = scenario(seed=81, events=50_000, now=utcnow())
    asyncio.run(produce(kafka_bootstrap, topics.events, values, keys))
    rng = random.Random(5)
    worker = WorkerProcess(kafka_bootstrap, topics, tmp_path / "w").start()
    try:
        kill_repeatedly(worker, 5, rng, within=(0.5, 6.0))
        _finish(kafka_bootstrap, topics, values, "kill -9 x5")
    finally:
        worker.stop()


def test_broker_restart_mid_run(tmp_path: Path, unique_name: Any) -> None:
    from devtools import free_port

    kafka = LocalKafka(port=free_port(), controller_port=free_port(), data_dir=tmp_path / "k")
    kafka.start(timeout=120)
    worker = None
    try:
        bootstrap = kafka.bootstrap
        topics = Topics(
            unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app")
        )
        asyncio.run(create_topics(bootstrap, topics))
        values, keys = scenario(seed=82, events=20_000, now=utcnow())
        asyncio.run(produce(bootstrap, topics.events, values, keys))
        worker = WorkerProcess(bootstrap, topics, tmp_path / "w").start()
        worker.wait_ready()
        time.sleep(2)
        kafka.stop()
        time.sleep(5)
        kafka.start(timeout=120)
        worker.wait_ready()
        wait_caught_up(worker, topics.partitions)
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        worker.wait_ready()
        _finish(bootstrap, topics, values, "broker restart")
    finally:
        if worker is not None:
            worker.stop()
        kafka.stop()


def test_rebalance_add_a_worker_then_remove_the_first(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    values, keys = scenario(seed=83, events=20_000, now=utcnow())
    first = WorkerProcess(kafka_bootstrap, topics, tmp_path / "a").start()
    second = WorkerProcess(kafka_bootstrap, topics, tmp_path / "b")
    try:
        first.wait_ready()
        asyncio.run(produce(kafka_bootstrap, topics.events, values, keys))
        time.sleep(2)
        second.start()
        second.wait_ready()
        time.sleep(3)
        first.stop()
        second.wait_ready()
        wait_caught_up(second, topics.partitions)
        _finish(kafka_bootstrap, topics, values, "rebalance")
    finally:
        first.stop()
        second.stop()


def test_rolling_restart_of_three_workers_each_stopped_right_after_it_is_ready(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """Each restart is a rebalance in which the others keep partitions while they hold a
    backlog (their stream queues full); the next worker goes 0.3 s after the last is ready."""
    values, keys = scenario(seed=85, events=20_000, now=utcnow())
    workers = [WorkerProcess(kafka_bootstrap, topics, tmp_path / name) for name in "abc"]
    asyncio.run(produce(kafka_bootstrap, topics.events, values, keys))  # before any tick
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        time.sleep(2)
        for _ in range(2):
            for worker in workers:
                worker.stop()
                worker.start()
                worker.wait_ready()
                time.sleep(0.3)
        assert wait_group_caught_up(workers, topics.partitions) == 0  # no watchdog restart
        _finish(kafka_bootstrap, topics, values, "rolling workers, one broker")
    finally:
        for worker in workers:
            worker.stop()
