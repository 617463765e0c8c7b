"""The simulator's `--out` file, replayed with `sla-processor replay`, gives the alert ids the live
worker published for the same traffic (issue 6).

The simulator runs paced in real time (backdated so alerts come quickly) while a real worker
processes the topic. Alerts due before the end of the run must match exactly; alerts due within a
few seconds of the end may be on either side.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools import (
    REPO,
    Topics,
    WorkerProcess,
    alerts_of,
    create_topics,
    read_all,
    wait_caught_up,
)

pytestmark = pytest.mark.integration


def _replay(path: Path, until: datetime) -> set[str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "processor",
            "replay",
            "-q",
            "--until",
            until.isoformat(),
            str(path),
        ],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return {json.loads(line)["alert_id"] for line in out.stdout.splitlines()}


def test_simulator_out_file_replays_to_the_live_alert_ids(
    kafka_bootstrap: str, unique_name: Any, tmp_path: Path
) -> None:
    topics = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app"))
    asyncio.run(create_topics(kafka_bootstrap, topics))
    worker = WorkerProcess(kafka_bootstrap, topics, tmp_path / "w").start()
    out = tmp_path / "events.jsonl"
    try:
        worker.wait_ready()
        env = {**os.environ, **topics.env(), "SLA_BOOTSTRAP_SERVERS": kafka_bootstrap}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "processor",
                "simulate",
                "--rate",
                "10",
                "--duration",
                "25s",
                "--backdate",
                "50m",
                "--seed",
                "5",
                "--mix",
                "basic=0.2,silver=0.4,gold=0.4",
                "--priorities",
                "1=0.4,2=0.4,3=0.1,4=0.1",
                "--out",
                str(out),
                "-q",
            ],
            cwd=REPO,
            env=env,
            check=True,
            timeout=120,
        )
        wait_caught_up(worker, topics.partitions)
        time.sleep(2)
        end = datetime.now(UTC)
        live = {
            a["alert_id"]
            for a in alerts_of(
                asyncio.run(read_all(kafka_bootstrap, topics.alerts, idle=3, timeout=60))
            )
        }
    finally:
        worker.stop()
    required = _replay(out, end - timedelta(seconds=5))
    allowed = _replay(out, end + timedelta(seconds=5))
    print(f"\nsimulate --out replay: {len(required)} expected, {len(live)} live")
    assert len(required) > 10
    assert required <= live, f"{len(required - live)} replayed alerts missing live"
    assert live <= allowed, f"{len(live - allowed)} live alerts replay does not raise"
