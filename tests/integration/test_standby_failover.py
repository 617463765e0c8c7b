"""Standby replicas on the real broker: a worker promoted from its standby copy holds every ticket.

faust cleared its changelog queue when a recovery completed, dropping the standby records
fetched meanwhile without seeking back (`processor.worker.faust_compat.guard_standby_recovery`),
so a standby copy missed thousands of rows and a worker promoted from it lacked those tickets.
The changelog here is filled directly with the rows the worker writes (as the scale benchmark
does), so there are enough standby records in flight when the second worker's recovery ends.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools import Topics, WorkerProcess
from devtools.changelog import fill_changelog

pytestmark = pytest.mark.integration

TICKETS = 40_000


def _health(worker: WorkerProcess) -> dict[str, Any]:
    status, body = worker.get("/healthz")
    return {"http": status, **json.loads(body)} if body.startswith(b"{") else {"http": status}


def _wait(worker: WorkerProcess, pred: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        try:
            health = _health(worker)
        except OSError:
            health = {}
        if pred(health):
            return health
        time.sleep(0.5)
    raise AssertionError(f"{what}: not after {timeout}s (last /healthz {health})\n{worker.tail()}")


def test_worker_promoted_from_its_standby_copy_holds_every_ticket(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    at = datetime.now(UTC) - timedelta(hours=1)  # gold P4: nothing due for 17 h
    asyncio.run(fill_changelog(kafka_bootstrap, topics, TICKETS, at))
    env = {"SLA_STANDBY_REPLICAS": "1", "SLA_STORE": "rocksdb://"}
    one = WorkerProcess(kafka_bootstrap, topics, tmp_path / "w1", extra_env=env).start()
    workers.append(one)
    _wait(one, lambda h: h.get("indexed") == TICKETS, 240, "first worker holds every ticket")
    two = WorkerProcess(kafka_bootstrap, topics, tmp_path / "w2", extra_env=env).start()
    workers.append(two)
    # The second worker takes half of the partitions (recovering them from the changelog) and
    # keeps a standby copy of the other half; wait until that copy has read the changelog.
    _wait(
        two,
        lambda h: (
            h.get("http") == 200 and 0 < h["indexed"] < TICKETS and h["standby_remaining"] == 0
        ),
        240,
        "second worker active on half, standby copy of the rest complete",
    )
    _wait(one, lambda h: h.get("http") == 200 and h["indexed"] < TICKETS, 60, "first rebalanced")
    one.kill()  # kill -9: the second worker takes over the first one's partitions
    # /metrics first: once every partition is assigned to it, a 200 from /healthz means the
    # recovery of that assignment is complete.
    _wait(two, lambda h: _all_active(two), 120, "second worker assigned every partition")
    health = _wait(two, lambda h: h.get("http") == 200, 180, "second worker ready")
    assert _all_active(two)
    assert health["indexed"] == TICKETS, f"promoted standby lacks {TICKETS - health['indexed']}"


def _all_active(worker: WorkerProcess) -> bool:
    """All input partitions are assigned to `worker` (its consumer-lag metric has each)."""
    body = worker.get("/metrics")[1].decode()
    parts = {
        line.split('partition="')[1].split('"')[0]
        for line in body.splitlines()
        if line.startswith("sla_consumer_lag_records{")
    }
    return len(parts) == 4
