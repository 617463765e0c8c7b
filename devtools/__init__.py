"""Helpers shared by the tests and the benchmarks (not shipped in the package): real
`sla-processor worker` processes (`workers`) and the real broker's topics, records and offsets
(`kafka_io`). Importable from the repository root (pytest's `pythonpath`; bench scripts add it)."""

from devtools.kafka_io import (
    OffsetWatch,
    alerts_of,
    caught_up,
    committed,
    create_topics,
    delete_topics,
    end_offsets,
    load,
    produce,
    read_all,
    wait_committed,
)
from devtools.replayed import replayed_alerts
from devtools.workers import REPO, Topics, WorkerFailed, WorkerProcess, free_port, wait_caught_up

__all__ = [
    "REPO",
    "OffsetWatch",
    "Topics",
    "WorkerFailed",
    "WorkerProcess",
    "alerts_of",
    "caught_up",
    "committed",
    "create_topics",
    "delete_topics",
    "end_offsets",
    "free_port",
    "load",
    "produce",
    "read_all",
    "replayed_alerts",
    "wait_caught_up",
    "wait_committed",
]
