"""Shared by the chaos tests: scenarios from the simulator, expected alerts from `replay`,
waiting for a worker to catch up, and the bounds every scenario checks.

Expected alerts: `replay` of the same input with `--until T` gives the alerts due up to T. An
alert due well before the end of the test must have arrived (at least once); an alert due after
the end may not have. So with `required = replay(until=end - margin)` and
`allowed = replay(until=end + margin)`: required <= received <= allowed.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools import WorkerProcess, wait_caught_up
from processor.domain.events import InvalidEvent, parse_event
from processor.domain.policy import default_policy
from processor.replay import Replayer
from processor.simulate import SimConfig, generate


def scenario(seed: int, events: int, now: datetime) -> tuple[list[bytes], list[bytes]]:
    """About `events` simulator records (values, keys) that all occurred in the past day and a
    half before `now` (nothing dated in the future), malformed and duplicate ones included."""
    rate = events / 3.4 / (36 * 3600)  # ~3.4 records per ticket, tickets over 36 hours
    config = SimConfig(
        seed=seed, start=now - timedelta(hours=40), rate=rate, duration=timedelta(hours=36)
    )
    values, keys = [], []
    for emission in generate(config):
        if emission.emit_at > now - timedelta(minutes=30) or len(values) >= events:
            break
        values.append(emission.value)
        keys.append(emission.ticket_id.encode())
    return values, keys


def replay_ids(
    values: list[bytes], until: datetime, partitions: list[int] | None = None
) -> dict[str, dict[str, Any]]:
    """`replay` of `values` up to `until`; with `partitions` (each record's input partition),
    every partition keeps its own watermark, as the live worker's do."""
    replayer = Replayer(default_policy(), until=until)
    alerts = []
    for i, value in enumerate(values):
        try:
            event = parse_event(value)
        except InvalidEvent:
            continue
        alerts.extend(replayer.feed(event, partitions[i]) if partitions else replayer.feed(event))
    alerts.extend(replayer.finish())
    return {a.alert_id: json.loads(a.to_json()) for a in alerts}


@dataclass
class Verdict:
    required: int
    allowed: int
    received: int
    distinct: int
    duplicated: int
    missing: set[str]
    unexpected: set[str]

    def line(self, name: str) -> str:
        return (
            f"{name}: expected {self.required} (up to {self.allowed}), received "
            f"{self.received}, distinct {self.distinct}, duplicates {self.duplicated}"
        )


def judge(
    values: list[bytes],
    received: list[dict[str, Any]],
    end: datetime,
    margin: timedelta = timedelta(seconds=5),
    partitions: list[int] | None = None,
    read_until: datetime | None = None,
) -> Verdict:
    """`received` against replay: every alert due by `end - margin` must be there; any due by
    `read_until + margin` may be (a worker still running raises alerts while they are read)."""
    required = replay_ids(values, end - margin, partitions)
    allowed = replay_ids(values, (read_until or end) + margin, partitions)
    counts = Counter(a["alert_id"] for a in received)
    return Verdict(
        required=len(required),
        allowed=len(allowed),
        received=sum(counts.values()),
        distinct=len(counts),
        duplicated=sum(counts.values()) - len(counts),
        missing=set(required) - set(counts),
        unexpected=set(counts) - set(allowed),
    )


def kill_repeatedly(
    worker: WorkerProcess, times: int, rng: random.Random, within: tuple[float, float]
) -> None:
    """kill -9 `worker` `times` times, each a random `within` seconds after it reported ready,
    restarting it each time; returns once it is ready and has caught up."""
    for _ in range(times):
        worker.wait_ready()
        time.sleep(rng.uniform(*within))
        worker.kill()
        worker.start()
    worker.wait_ready()
    wait_caught_up(worker, worker.topics.partitions)


def utcnow() -> datetime:
    return datetime.now(UTC)
