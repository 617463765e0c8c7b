"""A three-broker KRaft cluster under load: a leader killed, the brokers and the workers
restarted one at a time. No alert lost, none invented, duplicates counted, delays printed.

Every scenario: ~20,000 (leader kill), ~10,000 (rolling workers) or ~5,000 (rolling brokers)
simulator records dated in the past, produced before the worker starts
(acks=all, idempotent), so the disturbance hits a worker reading its backlog; then live tickets
whose breaches fall due while the cluster is disturbed. Topics have 3 replicas and
min.insync.replicas 2, the workers the same settings. Expected alerts come from `replay` of the
same input with each record's partition (chaos_helpers: per-partition watermarks, as live).
Run with `make test-cluster`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from chaos_helpers import judge, replay_ids, scenario
from cluster_helpers import (
    LIVE_PREFIX,
    MIN_ISR,
    REPLICAS,
    backlog_partition,
    create_replicated_topics,
    live_delays,
    live_tickets,
    produce_keyed,
    replication_of,
    supervise,
    utc,
    wait_group_caught_up,
    worker_env,
)
from worker_harness import Topics, WorkerProcess, read_all

from processor.kafka.admin import AdminError, check_replication
from processor.localkafka import LocalKafkaCluster
from processor.settings import Settings

pytestmark = [pytest.mark.chaos, pytest.mark.cluster, pytest.mark.integration]

EVENTS = 20_000  # the leader kill; rolling workers half, rolling brokers a quarter (CI time)
LIVE = 40  # live breaches of the rolling restarts, one a second (the leader kill: 45)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaCluster]:
    kafka = LocalKafkaCluster(3, data_dir=tmp_path_factory.mktemp("cluster"), heap="384m")
    began = time.monotonic()
    kafka.start(timeout=300)  # a loaded 2-core machine needs minutes for three JVMs
    print(f"\ncluster of 3 ready in {time.monotonic() - began:.1f} s at {kafka.bootstrap}")
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture
def topics(cluster: LocalKafkaCluster, unique_name: Any) -> Topics:
    cluster.wait_in_sync()  # a scenario starts on a healthy cluster
    t = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app"))
    asyncio.run(create_replicated_topics(cluster.bootstrap, t))
    return t


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def _start_workers(
    count: int, cluster: LocalKafkaCluster, topics: Topics, tmp_path: Path
) -> list[WorkerProcess]:
    env = worker_env()
    found = [
        WorkerProcess(cluster.bootstrap, topics, tmp_path / f"w{i}", extra_env=env).start()
        for i in range(count)
    ]
    for worker in found:
        worker.wait_ready(timeout=120)
    return found


@dataclass
class Run:
    """One scenario's input as produced: values in produce order and their partitions."""

    values: list[bytes]
    partitions: list[int]
    last_due: datetime
    began: float = field(default_factory=time.monotonic)


def _backlog(cluster: LocalKafkaCluster, topics: Topics, seed: int, events: int = EVENTS) -> Run:
    """~`events` simulator records, all dated in the past, produced before any worker runs."""
    values, keys = scenario(seed=seed, events=events, now=utc())
    chosen: list[int | None] = [backlog_partition(key, topics.partitions) for key in keys]
    partitions = asyncio.run(produce_keyed(cluster.bootstrap, topics.events, values, keys, chosen))
    return Run(values, partitions, utc())


def _live(
    cluster: LocalKafkaCluster, topics: Topics, run: Run, first_due: float, count: int
) -> None:
    """`count` gold P1 tickets on input partition 0, breaching from `first_due` s from now,
    one a second."""
    due = utc(first_due)
    values = live_tickets(due, count)
    keys = [f"{LIVE_PREFIX}{i}".encode() for i in range(count)]
    on_zero: list[int | None] = [0] * count
    run.partitions += asyncio.run(
        produce_keyed(cluster.bootstrap, topics.events, values, keys, on_zero)
    )
    run.values += values
    run.last_due = due + timedelta(seconds=count - 1)


def _finish(
    cluster: LocalKafkaCluster,
    topics: Topics,
    workers: list[WorkerProcess],
    run: Run,
    window: tuple[datetime, datetime],
    name: str,
) -> None:
    restarts = wait_group_caught_up(workers, topics.partitions)
    caught_up = time.monotonic() - run.began
    while utc() < run.last_due + timedelta(seconds=3):  # the last live breach
        restarts += supervise(workers)
        time.sleep(0.5)
    restarts += supervise(workers)
    end = utc()  # stop the workers before reading, so nothing due later is raised meanwhile
    for worker in workers:
        worker.stop()
    margin = timedelta(seconds=5) + (utc() - end)
    records = asyncio.run(read_all(cluster.bootstrap, topics.alerts, idle=3, timeout=120))
    alerts = [json.loads(r.value) for r in records]
    verdict = judge(run.values, alerts, end, margin, partitions=run.partitions)
    delays = live_delays(records, window)
    print(
        f"\n{verdict.line(name)}\n{delays.line(name)}; caught up after {caught_up:.1f} s; "
        f"watchdog restarts {restarts}"
    )
    if verdict.missing:
        want = replay_ids(run.values, end, run.partitions)
        shown = [
            (w["ticket_id"], w["type"], w["metric"], w["due_at"])
            for w in (want[i] for i in sorted(verdict.missing)[:5])
        ]
        raise AssertionError(f"{len(verdict.missing)} expected alerts never arrived: {shown}")
    if verdict.unexpected:
        got = {a["alert_id"]: a for a in alerts}
        shown = [
            (a["ticket_id"], a["type"], a["metric"], a["due_at"], a["emitted_at"])
            for a in (got[i] for i in sorted(verdict.unexpected)[:5])
        ]
        raise AssertionError(f"{len(verdict.unexpected)} alerts replay does not expect: {shown}")
    assert verdict.required > 100  # the scenario really exercised the timers
    assert delays.window, "no live breach fell due during the disturbance"
    assert restarts == 0, f"the stall watchdog restarted a worker {restarts} time(s)"


def test_kill_9_the_leader_of_input_and_alerts_partitions_during_20k_events(
    cluster: LocalKafkaCluster, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    run = _backlog(cluster, topics, seed=91)
    workers += _start_workers(1, cluster, topics, tmp_path)
    _live(cluster, topics, run, first_due=5, count=45)
    time.sleep(2)  # the worker is reading the backlog
    leader = cluster.leader(topics.events, 0)
    assert leader == cluster.leader(topics.alerts, 0) and leader > 0
    killed_at = utc()
    cluster.node(leader).kill()
    time.sleep(8)
    cluster.node(leader).start(timeout=120)
    cluster.wait_in_sync()
    back = (utc() - killed_at).total_seconds()
    print(f"\nnode {leader} killed -9, restarted, all replicas in sync after {back:.1f} s")
    _finish(cluster, topics, workers, run, (killed_at, utc(10)), "kill -9 leader")
    names = [topics.events, topics.alerts, topics.dlq, f"{topics.app_id}-tickets-changelog"]
    replication = asyncio.run(replication_of(cluster.bootstrap, names))
    assert replication == {n: (REPLICAS, MIN_ISR) for n in names}  # the worker made DLQ + changelog


def test_rolling_restart_of_the_three_brokers(
    cluster: LocalKafkaCluster, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    run = _backlog(cluster, topics, seed=92, events=EVENTS // 4)
    workers += _start_workers(1, cluster, topics, tmp_path)
    _live(cluster, topics, run, first_due=5, count=LIVE)
    time.sleep(2)
    began = utc()
    for node_id in (1, 2, 3):
        cluster.node(node_id).stop()  # SIGTERM: controlled shutdown moves its leaders away
        cluster.node(node_id).start(timeout=120)
        cluster.wait_in_sync()
    print(f"\nrolling broker restart took {(utc() - began).total_seconds():.1f} s")
    _finish(cluster, topics, workers, run, (began, utc(10)), "rolling brokers")


def test_rolling_restart_of_three_workers_one_at_a_time(
    cluster: LocalKafkaCluster, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    run = _backlog(cluster, topics, seed=93, events=EVENTS // 2)
    workers += _start_workers(3, cluster, topics, tmp_path)
    _live(cluster, topics, run, first_due=5, count=LIVE)
    time.sleep(2)
    began = utc()
    for worker in workers:
        worker.stop()
        worker.start()
        worker.wait_ready(timeout=120)
        time.sleep(2)  # let the group settle before the next one goes
    print(f"\nrolling worker restart took {(utc() - began).total_seconds():.1f} s")
    _finish(cluster, topics, workers, run, (began, utc(10)), "rolling workers")


def test_existing_topics_with_fewer_replicas_or_a_lower_min_isr_are_refused(
    cluster: LocalKafkaCluster, unique_name: Any
) -> None:
    thin, loose = unique_name("thin"), unique_name("loose")

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(thin, 1, 1),
                    NewTopic(loose, 1, 3, topic_configs={"min.insync.replicas": "1"}),
                ]
            )
        finally:
            await admin.close()

    asyncio.run(create())
    settings = Settings(
        bootstrap_servers=cluster.bootstrap, replication_factor=3, min_insync_replicas=2
    )
    with pytest.raises(AdminError, match=rf"topic '{thin}' has 1 replica\(s\) but SLA_REPL"):
        asyncio.run(check_replication(settings, [thin]))
    with pytest.raises(AdminError, match=f"topic '{loose}' has min.insync.replicas=1 but"):
        asyncio.run(check_replication(settings, [loose]))
    asyncio.run(check_replication(settings, [unique_name("absent")]))  # created later: fine
    with pytest.raises(AdminError, match=r"replication factor 4 .* larger than the 3 broker"):
        asyncio.run(check_replication(settings.model_copy(update={"replication_factor": 4})))
