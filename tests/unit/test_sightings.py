"""Detection of records off the murmur2 contract and of tickets split across partitions.

`Partitions` plays the input topic and the two co-partitioned tables: a read or write goes to
the partition of the record being handled (as faust's RocksDB store does inside a stream), and
the sightings the watch sends are appended to their home partition and handled in order.
"""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from processor.kafka.partitioning import murmur2_partition, partition_by
from processor.worker.service import TICK_HEADER, Record
from processor.worker.sightings import (
    SIGHTING_HEADER,
    PartitionMetrics,
    PartitionWatch,
    decode_partitions,
    encode_partitions,
    sighting_value,
)

N = 4
TOPIC = "events"


class Partitions:
    def __init__(self, memory: int = 1000) -> None:
        self.rows: set[tuple[str, int]] = set()  # (ticket, partition) with state
        self.sightings: dict[int, dict[str, bytes]] = {p: {} for p in range(N)}
        self.current = 0
        self.outbox: list[Record] = []
        self.offset = 0
        self.registry = CollectorRegistry()
        self.watch = PartitionWatch(
            TOPIC,
            N,
            PartitionMetrics(self.registry, TOPIC),
            self,
            self._row_partition,
            self._send,
            memory=memory,
        )

    # the sightings table, as the watch sees it inside the stream
    def get(self, key: str, default: bytes | None = None) -> bytes | None:
        return self.sightings[self.current].get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.sightings[self.current][key] = value

    def _row_partition(self, ticket: str) -> int | None:
        return self.current if (ticket, self.current) in self.rows else None

    def pop(self, key: str, default: bytes | None = None) -> bytes | None:
        return self.sightings[self.current].pop(key, default)

    async def _send(self, ticket: str, home: int, partition: int, gone: bool) -> None:
        headers = [(SIGHTING_HEADER, sighting_value(partition, gone))]
        self.outbox.append(self._record(home, ticket.encode(), b"", headers))

    def _record(
        self, partition: int, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> Record:
        self.offset += 1
        return Record(TOPIC, partition, self.offset, key, value, headers)

    async def event(self, ticket: str, partition: int, *, stored: bool = True) -> None:
        """An event of `ticket` on `partition` that the service handled (storing state)."""
        await self.handle(self._record(partition, ticket.encode(), b"{}", []), stored=stored)

    async def handle(self, record: Record, *, stored: bool = True) -> None:
        self.current = record.partition
        if stored and record.key is not None:
            self.rows.add((record.key.decode(), record.partition))
        await self.watch.on_input(record)
        await self.deliver()

    async def delete(self, ticket: str, partition: int) -> None:
        """The ticket's state on `partition` reaches the end of its retention (on a tick)."""
        self.current = partition
        self.rows.discard((ticket, partition))
        self.watch.forget(ticket, partition)
        await self.handle(self._record(partition, None, b"", [(TICK_HEADER, b"x")]))

    async def deliver(self) -> None:
        while self.outbox:
            sighting = self.outbox.pop(0)
            self.current = sighting.partition
            await self.watch.on_sighting(sighting)

    def value(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, {"topic": TOPIC, **labels}) or 0.0

    def splits(self) -> float:
        return self.value("sla_split_tickets_total")

    def sighted(self, ticket: str) -> set[int]:
        return decode_partitions(self.sightings[home(ticket)].get(ticket))


def home(ticket: str) -> int:
    return murmur2_partition(ticket.encode(), N)


def crc(ticket: str) -> int:
    return partition_by("crc32", ticket.encode(), N)


def tickets_off_contract(count: int) -> list[str]:
    """Tickets whose CRC32 partition (librdkafka's default) is not their murmur2 one."""
    found = [t for t in (f"T-{i}" for i in range(500)) if crc(t) != home(t)]
    return found[:count]


@pytest.fixture
def world() -> Partitions:
    return Partitions()


async def test_on_contract_records_count_nothing_and_send_nothing(world: Partitions) -> None:
    for i in range(20):
        await world.event(f"T-{i}", home(f"T-{i}"))
    assert world.value("sla_mispartitioned_records_total", partitioner="crc32") == 0
    assert all(not s for s in world.sightings.values())
    assert world.splits() == 0


async def test_librdkafka_records_are_counted_warned_once_and_sighted_home(
    world: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "processor.worker.sightings")
    tickets = tickets_off_contract(5)
    for t in tickets:
        for _ in range(3):
            await world.event(t, crc(t))
    assert world.value("sla_mispartitioned_records_total", partitioner="crc32") == 15
    warnings = [r for r in caplog.records if "not partitioned by murmur2" in r.getMessage()]
    assert len(warnings) == 1
    assert "CRC32" in warnings[0].getMessage() and "partitioner=murmur2_random" in (
        warnings[0].getMessage()
    )
    for t in tickets:  # one sighting each, stored on the home partition
        assert world.sighted(t) == {crc(t)}
    assert world.splits() == 0


async def test_one_sighting_per_ticket_and_partition(world: Partitions) -> None:
    t = tickets_off_contract(1)[0]
    sent: list[Record] = []
    original = world._send

    async def counting(ticket: str, h: int, p: int, gone: bool) -> None:
        await original(ticket, h, p, gone)
        sent.append(world.outbox[-1])

    world.watch.send = counting
    for _ in range(10):
        await world.event(t, crc(t))
    assert len(sent) == 1


async def test_split_found_when_the_home_partition_had_state_first(
    world: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "processor.worker.sightings")
    t = tickets_off_contract(1)[0]
    await world.event(t, home(t))  # a murmur2 producer
    await world.event(t, crc(t))  # then a librdkafka one
    assert world.splits() == 1
    assert world.sighted(t) == {home(t), crc(t)}
    (error,) = [r.getMessage() for r in caplog.records if "split" in r.getMessage()]
    assert repr(t) in error and str(sorted({home(t), crc(t)})) in error


async def test_split_found_when_the_other_partition_had_state_first(world: Partitions) -> None:
    t = tickets_off_contract(1)[0]
    await world.event(t, crc(t))
    assert world.splits() == 0
    await world.event(t, home(t))
    await world.event(t, home(t))
    assert world.splits() == 1
    assert world.sighted(t) == {home(t), crc(t)}


async def test_a_third_partition_is_reported_again(world: Partitions) -> None:
    t = tickets_off_contract(1)[0]
    third = next(p for p in range(N) if p not in (home(t), crc(t)))
    await world.event(t, home(t))
    await world.event(t, crc(t))
    await world.event(t, third)
    assert world.splits() == 2
    assert world.sighted(t) == {home(t), crc(t), third}


async def test_invalid_events_are_counted_but_not_sighted(world: Partitions) -> None:
    t = tickets_off_contract(1)[0]
    await world.event(t, crc(t), stored=False)  # went to the DLQ: no state
    assert world.value("sla_mispartitioned_records_total", partitioner="crc32") == 1
    assert world.sighted(t) == set()
    await world.event(t, crc(t))  # a valid one later is sighted
    assert world.sighted(t) == {crc(t)}


async def test_keyless_records_are_no_key_and_sighted_by_their_ticket_id(
    world: Partitions,
) -> None:
    t = tickets_off_contract(1)[0]
    world.rows.add((t, crc(t)))
    record = world._record(crc(t), None, b'{"ticket_id": "%s"}' % t.encode(), [])
    await world.handle(record)
    assert world.value("sla_mispartitioned_records_total", partitioner="no_key") == 1
    assert world.sighted(t) == {crc(t)}


async def test_ticks_and_malformed_sightings_are_ignored(
    world: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    await world.handle(world._record(1, None, b"", [(TICK_HEADER, b"2026-01-01T00:00:00+00:00")]))
    for value in (b"x", b"99", b"-1", b"1 went", b"1 gone now"):
        world.current = 0
        await world.watch.on_sighting(world._record(0, b"T-1", b"", [(SIGHTING_HEADER, value)]))
    assert sum("malformed sighting" in r.getMessage() for r in caplog.records) == 5
    assert all(not s for s in world.sightings.values())
    assert (
        sum(world.value("sla_mispartitioned_records_total", partitioner=p) for p in ("no_key",))
        == 0
    )


async def test_memory_is_bounded_and_forgetting_only_resends(world: Partitions) -> None:
    small = Partitions(memory=2)
    tickets = tickets_off_contract(3)
    for t in tickets:
        await small.event(t, crc(t))
    assert len(small.watch._checked) == 2
    await small.event(tickets[0], crc(tickets[0]))  # forgotten: sighted again, same result
    assert small.sighted(tickets[0]) == {crc(tickets[0])}
    assert small.splits() == 0


async def test_a_failing_send_does_not_raise_and_is_retried_later(
    world: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    t = tickets_off_contract(1)[0]
    original = world.watch.send

    async def refuse(ticket: str, h: int, p: int, gone: bool) -> None:
        raise RuntimeError("broker down")

    world.watch.send = refuse
    await world.event(t, crc(t))
    assert "partition check" in caplog.text
    world.watch.send = original
    await world.event(t, crc(t))
    assert world.sighted(t) == {crc(t)}


async def test_deleted_state_withdraws_its_sighting_so_the_table_does_not_grow(
    world: Partitions,
) -> None:
    tickets = tickets_off_contract(20)
    for t in tickets:
        await world.event(t, crc(t))
    assert sum(len(s) for s in world.sightings.values()) == 20
    for t in tickets:
        await world.delete(t, crc(t))
    assert all(not s for s in world.sightings.values())
    await world.event(tickets[0], crc(tickets[0]))  # the ticket comes back: sighted again
    assert world.sighted(tickets[0]) == {crc(tickets[0])}


async def test_each_half_of_a_split_ticket_is_withdrawn_on_its_own(world: Partitions) -> None:
    t = tickets_off_contract(1)[0]
    await world.event(t, home(t))
    await world.event(t, crc(t))
    await world.delete(t, home(t))
    assert world.sighted(t) == {crc(t)}
    await world.delete(t, crc(t))
    assert world.sighted(t) == set()
    assert world.splits() == 1


async def test_a_withdrawal_that_cannot_be_sent_is_sent_with_a_later_record(
    world: Partitions,
) -> None:
    t = tickets_off_contract(1)[0]
    await world.event(t, crc(t))
    original = world.watch.send

    async def refuse(ticket: str, h: int, p: int, gone: bool) -> None:
        raise RuntimeError("broker down")

    world.watch.send = refuse
    await world.delete(t, crc(t))
    assert world.sighted(t) == {crc(t)}
    world.watch.send = original
    await world.handle(world._record(0, None, b"", [(TICK_HEADER, b"x")]))
    assert world.sighted(t) == set()


def test_partition_sets_round_trip() -> None:
    assert encode_partitions([3, 1, 3]) == b"1,3"
    assert decode_partitions(b"1,3") == {1, 3}
    assert decode_partitions(None) == set()
