"""Replay's event-time watermark on real, unsorted logs: partitions, lateness, outliers, late
creations and the end of input (docs/contract.md, "Offline replay")."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from processor.domain.alerts import Alert
from processor.domain.policy import default_policy
from processor.replay import BadLine, Replayer, parse_line, replay_lines

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def line(kind: str, ticket: str, at: datetime, partition: int | None = None, **f: Any) -> bytes:
    body: dict[str, Any] = {
        "type": f"ticket.{kind}",
        "event_id": f.pop("event_id", f"{ticket}-{kind}-{iso(at)}"),
        "ticket_id": ticket,
        "occurred_at": iso(at),
        **f,
    }
    if partition is not None:
        body["partition"] = partition
    return json.dumps(body).encode()


def created(ticket: str, at: datetime, partition: int | None = None, **f: Any) -> bytes:
    fields = {"customer_id": "c", "tier": "gold", "priority": 1, **f}
    return line("created", ticket, at, partition, **fields)


def run(lines: list[bytes], **options: Any) -> tuple[list[Alert], list[BadLine]]:
    bad: list[BadLine] = []
    replayer = Replayer(default_policy(), on_bad=bad.append, **options)
    return list(replay_lines(lines, replayer)), bad


def keys(alerts: list[Alert]) -> set[tuple[str, datetime]]:
    return {(a.alert_id, a.due_at) for a in alerts}


def test_a_ticket_created_behind_the_watermark_gets_its_alerts_at_once() -> None:
    # Y created 10:00 and answered 11:00 moves the watermark to 11:00; X (gold P1, 30 min)
    # created 10:00 is read after that: 75% at 10:22:30, 90% at 10:27, breach at 10:30 are all
    # behind the watermark, so they are raised at X's creation, with their own due_at, although
    # no later event and no --until follows.
    ten = T0.replace(hour=10)
    alerts, _ = run(
        [
            created("Y", ten),
            line("agent_responded", "Y", ten + timedelta(hours=1)),
            created("X", ten),
        ]
    )
    x = [(a.type, a.threshold, a.due_at, a.emitted_at) for a in alerts if a.ticket_id == "X"]
    eleven = ten + timedelta(hours=1)
    assert x == [
        ("sla.near_breach", 0.75, ten + timedelta(minutes=22, seconds=30), eleven),
        ("sla.near_breach", 0.9, ten + timedelta(minutes=27), eleven),
        ("sla.breached", 1.0, ten + timedelta(minutes=30), eleven),
    ]
    assert [a.type for a in alerts if a.ticket_id == "Y"] == [
        "sla.near_breach",
        "sla.near_breach",
        "sla.breached",
        "sla.resolved",
    ]


def test_the_end_of_input_raises_what_is_due_before_the_last_event() -> None:
    # T1 (gold P1) is due 08:22:30/08:27/08:30; the last event of the log is at 08:28 on
    # another ticket, which moved the watermark already; at the end nothing past 08:28 is due.
    alerts, _ = run([created("T1", T0), created("T2", T0 + timedelta(minutes=28))])
    assert [(a.ticket_id, a.threshold) for a in alerts] == [("T1", 0.75), ("T1", 0.9)]


def _log(seed: int, tickets: int = 400, partitions: int = 4) -> list[tuple[datetime, int, bytes]]:
    """A realistic multi-partition log: (occurred_at, partition, line), each ticket's events on
    one partition; responses land before, near and after the deadlines."""
    rng = random.Random(seed)
    out: list[tuple[datetime, int, bytes]] = []
    for n in range(tickets):
        ticket = f"T{n:04d}"
        partition = rng.randrange(partitions)
        start = T0 + timedelta(seconds=rng.randrange(6 * 3600))
        tier, priority = rng.choice(["basic", "silver", "gold"]), rng.randint(1, 4)
        out.append(
            (start, partition, created(ticket, start, partition, tier=tier, priority=priority))
        )
        at = start + timedelta(seconds=rng.randrange(90 * 60))
        if rng.random() < 0.3:
            out.append((at, partition, line("priority_changed", ticket, at, partition, priority=1)))
            at += timedelta(seconds=rng.randrange(40 * 60))
        if rng.random() < 0.8:
            out.append((at, partition, line("agent_responded", ticket, at, partition)))
    return out


def _chunked(log: list[tuple[datetime, int, bytes]], chunk: timedelta) -> list[bytes]:
    """How a dump of a multi-partition topic reads: each partition in its own order, the
    partitions interleaved in chunks of `chunk` of event time (minutes apart)."""
    by_partition: dict[int, list[tuple[datetime, bytes]]] = {}
    for at, partition, raw in sorted(log, key=lambda item: item[0]):
        by_partition.setdefault(partition, []).append((at, raw))
    out: list[bytes] = []
    edge = T0
    while any(by_partition.values()):
        edge += chunk
        for partition in sorted(by_partition):
            items = by_partition[partition]
            while items and items[0][0] < edge:
                out.append(items.pop(0)[1])
    return out


def test_a_chunk_interleaved_dump_gives_the_alerts_of_the_sorted_log() -> None:
    log = _log(seed=7)
    ordered = [raw for _, _, raw in sorted(log, key=lambda item: item[0])]  # stable sort
    chunked = _chunked(log, timedelta(minutes=45))
    assert chunked != ordered
    sorted_alerts, _ = run(ordered)
    chunked_alerts, _ = run(chunked)
    assert len(sorted_alerts) > 100
    assert keys(chunked_alerts) == keys(sorted_alerts)
    # Reading the dump as one stream (the partition field dropped) is what went wrong before:
    # a partition read later is judged by the watermark of the ones read before it.
    one_stream = [json.dumps({**json.loads(r), "partition": 0}).encode() for r in chunked]
    mixed, _ = run(one_stream)
    assert keys(mixed) > keys(sorted_alerts)


def test_waiting_for_every_partition_gives_the_same_alerts() -> None:
    log = _log(seed=11)
    ordered = [raw for _, _, raw in sorted(log, key=lambda item: item[0])]
    chunked = _chunked(log, timedelta(minutes=45))
    sorted_alerts, _ = run(ordered)
    waited, _ = run(chunked, partitions=4)
    assert keys(waited) == keys(sorted_alerts)


def test_with_partitions_nothing_is_due_until_each_partition_was_seen() -> None:
    lines = [created("A", T0, 0), created("B", T0 + timedelta(hours=2), 0)]
    replayer = Replayer(default_policy(), partitions=2)
    assert list(_feed(replayer, lines)) == []  # partition 1 never seen: A waits
    assert [a.ticket_id for a in replayer.finish()] == ["A", "A", "A"]  # the end of input


def _feed(replayer: Replayer, lines: list[bytes]) -> list[Alert]:
    out: list[Alert] = []
    for number, raw in enumerate(lines, start=1):
        event, partition = parse_line(raw)
        out.extend(replayer.feed(event, partition, number))
    return out


def test_one_far_future_line_changes_no_other_tickets_alerts() -> None:
    log = _log(seed=3)
    ordered = [raw for _, _, raw in sorted(log, key=lambda item: item[0])]
    baseline, _ = run(ordered)
    typo = created("TYPO", T0.replace(year=2062), 1)  # a mistyped year
    spoiled = [*ordered[:50], typo, *ordered[50:]]
    alerts, bad = run(spoiled)
    assert keys([a for a in alerts if a.ticket_id != "TYPO"]) == keys(baseline)
    assert [(b.line, b.reason) for b in bad] == [(51, "outlier")]


def test_a_quiet_weekend_is_a_real_jump_once_the_next_event_confirms_it() -> None:
    saturday = T0 - timedelta(hours=39)  # Saturday 2026-02-28 17:00
    monday = T0  # Monday 08:00, 39 hours later: beyond the one-day skew bound
    lines = [
        created("F", saturday),  # gold P1: breach due 30 min later, in the quiet weekend
        created("M1", monday),
        created("M2", monday + timedelta(minutes=1)),
    ]
    replayer = Replayer(default_policy())
    first = _feed(replayer, lines[:2])
    assert first == []  # M1 alone is not trusted with a 39-hour jump...
    confirmed = _feed(replayer, lines[2:])
    # ...M2 confirms it: F's thresholds are raised, stamped with the new watermark.
    assert [(a.ticket_id, a.emitted_at) for a in confirmed] == [
        ("F", monday + timedelta(minutes=1))
    ] * 3


def test_lateness_holds_the_watermark_back() -> None:
    # A response 5 minutes late in the log (after an event stamped after the breach) prevents
    # the breach when --lateness covers it, and does not without it.
    lines = [
        created("T", T0),
        created("U", T0 + timedelta(minutes=33)),
        line("agent_responded", "T", T0 + timedelta(minutes=29)),
    ]
    strict, _ = run(lines)
    assert [a.type for a in strict if a.ticket_id == "T"] == [
        "sla.near_breach",
        "sla.near_breach",
        "sla.breached",
        "sla.resolved",
    ]
    tolerant, _ = run(lines, lateness=timedelta(minutes=5))
    assert [a.type for a in tolerant if a.ticket_id == "T"] == [
        "sla.near_breach",
        "sla.near_breach",
        "sla.resolved",
    ]


def test_a_bad_partition_field_is_an_invalid_line() -> None:
    raw = created("T", T0)[:-1] + b', "partition": "3"}'
    _, bad = run([raw])
    assert [(b.line, b.reason) for b in bad] == [(1, "invalid_field")]
    nested = created("T", T0, meta={"partition": "x"})  # not the top-level field
    assert parse_line(nested)[1] == -1


def test_until_with_an_offset_stamps_emitted_at_in_utc() -> None:
    until = datetime.fromisoformat("2026-03-02T10:00:00+01:00")  # 09:00Z
    alerts, _ = run([created("T", T0)], until=until)
    assert {a.to_json().split('"emitted_at":')[1] for a in alerts} == {'"2026-03-02T09:00:00Z"}'}


def test_a_late_ticket_read_with_its_own_response_right_after_raises_nothing() -> None:
    # A backfill replaying ticket by ticket: Y (created 10:00, answered 11:00) and then X
    # (created 10:00, answered 10:10). X's creation is read behind the 11:00 watermark, but
    # its response, read next, comes first: X met its SLA and pages nobody.
    ten = T0.replace(hour=10)
    alerts, _ = run(
        [
            created("Y", ten),
            line("agent_responded", "Y", ten + timedelta(hours=1)),
            created("X", ten),
            line("agent_responded", "X", ten + timedelta(minutes=10)),
        ]
    )
    assert [a for a in alerts if a.ticket_id == "X"] == []
