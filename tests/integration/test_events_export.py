"""`sla-processor events export` against the real broker: the topic as JSON lines with each
record's partition, which replay turns into the alerts of the same events in time order."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from worker_harness import REPO, Topics, create_topics, produce

from processor.domain.policy import default_policy
from processor.replay import Replayer, replay_lines

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _events(count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    out: list[dict[str, Any]] = []
    for n in range(count):
        tid, start = f"T{n}", T0 + timedelta(seconds=rng.randrange(3 * 3600))
        out.append(
            {
                "type": "ticket.created",
                "event_id": f"{tid}-c",
                "ticket_id": tid,
                "occurred_at": start.isoformat(),
                "customer_id": "c",
                "tier": rng.choice(["silver", "gold"]),
                "priority": rng.randint(1, 3),
            }
        )
        if rng.random() < 0.7:
            at = start + timedelta(seconds=rng.randrange(3600))
            out.append(
                {
                    "type": "ticket.agent_responded",
                    "event_id": f"{tid}-r",
                    "ticket_id": tid,
                    "occurred_at": at.isoformat(),
                }
            )
    return out


def _alert_keys(lines: list[bytes]) -> set[tuple[str, str]]:
    replayer = Replayer(default_policy())
    return {(a.alert_id, a.due_at.isoformat()) for a in replay_lines(lines, replayer)}


def test_export_writes_every_event_with_its_partition_and_replays_like_the_sorted_log(
    kafka_bootstrap: str, unique_name: Any, tmp_path: Path
) -> None:
    topics = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("a"), 3)
    asyncio.run(create_topics(kafka_bootstrap, topics))
    # Produced as a helpdesk does, in time order: the export reads partition after partition
    # in fetch-sized chunks, hours apart.
    events = sorted(_events(150), key=lambda e: datetime.fromisoformat(e["occurred_at"]))
    asyncio.run(produce(kafka_bootstrap, topics.events, [*events, b"not json"]))
    out = tmp_path / "export.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "processor", "events", "export", "--out", str(out)],
        cwd=REPO,
        env={**_env(), **topics.env(), "SLA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(events)} events written" in done.stderr
    assert "1 non-JSON records left out" in done.stderr
    lines = out.read_bytes().splitlines()
    exported = [json.loads(line) for line in lines]
    assert {e["partition"] for e in exported} == {0, 1, 2}
    assert sorted(e["event_id"] for e in exported) == sorted(e["event_id"] for e in events)
    by_ticket = {e["ticket_id"]: e["partition"] for e in exported}
    assert all(by_ticket[e["ticket_id"]] == e["partition"] for e in exported)

    assert exported != sorted(exported, key=lambda e: e["occurred_at"])  # interleaved
    ordered = sorted(exported, key=lambda e: datetime.fromisoformat(e["occurred_at"]))
    want = _alert_keys([json.dumps(e).encode() for e in ordered])
    assert len(want) > 50
    assert _alert_keys(lines) == want


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
