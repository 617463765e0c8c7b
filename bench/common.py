"""Shared by the benchmarks: machine description and a fast deterministic event generator."""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

from processor.simulate.model import DEFAULT_PRIORITY_MIX, DEFAULT_TIER_MIX

TIERS = tuple(DEFAULT_TIER_MIX.items())  # (tier, weight): the simulator's mix
PRIORITIES = tuple(DEFAULT_PRIORITY_MIX.items())
ZONES = ("America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Sydney", "UTC")
TARGET_MIN = {1: 60, 2: 240, 3: 720, 4: 1440}


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: version(p) for p in ("faust-streaming", "aiokafka", "pydantic")},
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def generate(n_events: int, seed: int = 1, start: datetime | None = None) -> Iterator[str]:
    """`n_events` JSON lines (see `generate_keyed`)."""
    for _, line in generate_keyed(n_events, seed, start):
        yield line


def generate_keyed(
    n_events: int, seed: int = 1, start: datetime | None = None
) -> Iterator[tuple[str, str]]:
    """`n_events` (ticket_id, JSON line): ~3.2 events per ticket, a ticket every ~3 s.

    Mix per ticket: created; 30% an internal note; 5% a priority change; 5% closed without
    response, otherwise a public response (about 12% after the target); then 60% solved.
    Lines come out in occurred_at order (a small heap of pending follow-ups).
    """
    import heapq

    rng = random.Random(seed)
    clock = start or datetime(2026, 1, 5, tzinfo=UTC)
    pending: list[tuple[datetime, int, str, str]] = []
    seq = emitted = ticket = 0
    while emitted < n_events:
        clock += timedelta(seconds=rng.expovariate(1 / 3))
        while pending and pending[0][0] <= clock and emitted < n_events:
            _, _, tid, line = heapq.heappop(pending)
            yield tid, line
            emitted += 1
        if emitted >= n_events:
            return
        ticket += 1
        tid = f"B{seed}-{ticket}"
        for at, line in _ticket(rng, tid, clock):
            seq += 1
            heapq.heappush(pending, (at, seq, tid, line))


def _ticket(rng: random.Random, tid: str, at: datetime) -> list[tuple[datetime, str]]:
    tier = rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0]
    prio = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
    out = [
        (
            at,
            _line(
                "ticket.created",
                tid,
                0,
                at,
                customer_id=f"cust-{rng.randrange(500)}",
                tier=tier,
                priority=prio,
                timezone=rng.choice(ZONES),
            ),
        )
    ]
    target = timedelta(minutes=TARGET_MIN[prio])
    reply = at + target * rng.lognormvariate(-0.9, 0.8)
    if rng.random() < 0.3:
        out.append(
            (
                at + (reply - at) / 2,
                _line("ticket.agent_responded", tid, 1, at + (reply - at) / 2, public=False),
            )
        )
    if rng.random() < 0.05:
        change = at + (reply - at) / 3
        out.append(
            (change, _line("ticket.priority_changed", tid, 2, change, priority=min(prio + 1, 4)))
        )
    if rng.random() < 0.05:
        out.append((reply, _line("ticket.status_changed", tid, 3, reply, status="closed")))
    else:
        out.append((reply, _line("ticket.agent_responded", tid, 4, reply, public=True)))
        if rng.random() < 0.6:
            done = reply + timedelta(hours=2)
            out.append((done, _line("ticket.status_changed", tid, 5, done, status="solved")))
    return out


def _line(kind: str, tid: str, n: int, at: datetime, **fields: object) -> str:
    body = {
        "type": kind,
        "event_id": f"{tid}-{n}",
        "ticket_id": tid,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        **fields,
    }
    return json.dumps(body, separators=(",", ":"))


def emit(record: dict[str, object]) -> None:
    """One JSON line of results on stdout (and appended to $BENCH_RESULTS when set)."""
    line = json.dumps(record)
    print(line, flush=True)
    results = os.environ.get("BENCH_RESULTS")
    if results:
        with open(results, "a") as handle:
            handle.write(line + "\n")


def worker_from(checkout: str) -> list[str]:
    """argv (after the interpreter) of a worker imported from another checkout of the repo
    (e.g. `git worktree add /tmp/before <commit>`), for a before/after in one run."""
    code = (
        f"import runpy, sys; sys.path.insert(0, {checkout!r}); "
        "sys.argv[0] = 'processor'; runpy.run_module('processor', run_name='__main__')"
    )
    return ["-c", code, "worker"]


def bootstrap() -> str:
    """The benchmark broker: $BENCH_BOOTSTRAP, default 127.0.0.1:29092 (not the dev broker)."""
    return os.environ.get("BENCH_BOOTSTRAP", "127.0.0.1:29092")
