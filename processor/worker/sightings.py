"""Input records off the partitioning contract, and tickets whose events are split.

The contract (README, "Partitioning of the input topic"): a record keyed by `ticket_id` lands on
murmur2(key) mod N, the ticket's *home* partition. A producer with another partitioner (librdkafka
by default hashes with CRC32) still puts all of a ticket's events on one partition, so its SLA is
right, but on a partition the worker does not expect. Two producers with different partitioners
writing one ticket split its events over two partitions: each partition's table keeps its own
state for the ticket, and its SLA is wrong. This module sees both:

- Every input record is checked against murmur2; one off the contract is counted in
  `sla_mispartitioned_records_total{topic,partitioner}`, the partitioner being the first known
  hash that explains its partition, and a warning is logged once per partitioner and topic.
- A **sighting**: when a ticket first has state on a partition that is not its home, the worker
  there appends a small record (key = ticket_id, empty value, header `sla-sighting` = that
  partition) to the ticket's home partition of the input topic. Whoever owns the home partition
  reads it in order with the partition's events, inside the stream (where faust lets it write a
  table), and adds the partition to the ticket's row of the `sightings` table, co-partitioned
  with the input like the ticket table. A ticket seen on two or more partitions (two sightings,
  or a sighting plus state on the home partition itself) is reported: counted in
  `sla_split_tickets_total{topic}` and logged with the ticket id and partitions. When the
  ticket's state on a partition is deleted (end of its retention), a `gone` sighting withdraws
  that partition, so the table holds live tickets only.

Why sightings: the two halves of a split ticket live on two partitions, usually owned by two
workers, and nothing else meets both. Sending every record's partition to one place would double
the input traffic; a sighting is sent once per (ticket, partition) a worker has in memory (a
bounded LRU, so after a restart a ticket is sighted again, which is idempotent). Writing it to the
input topic rather than a new one keeps it ordered with that partition's events, owned by the
same worker through rebalances, with no topic to create; the table survives restarts in its
changelog. The home partition's owner is also the worker `/tickets/{id}` asks first, so the
sightings tell it where a ticket from another partitioner lives.

A split is reported, not repaired: which half is right depends on the producers, so people must
fix the producer and decide.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from processor.kafka.partitioning import MISPARTITION_PATTERNS, mispartition_pattern
from processor.kafka.partitioning import murmur2_partition as home_partition
from processor.worker.service import TICK_HEADER, Record

__all__ = [
    "LOOKUP_KINDS",
    "MEMORY",
    "SIGHTING_HEADER",
    "PartitionMetrics",
    "PartitionWatch",
    "Sightings",
    "decode_partitions",
    "encode_partitions",
    "is_sighting",
    "sighting_value",
]

log = logging.getLogger(__name__)

SIGHTING_HEADER = "sla-sighting"
MEMORY = 65_536
"""(ticket, partition) pairs a worker remembers as already checked (sighted or found home)."""
LOOKUP_KINDS = ("home", "fanout")


class Sightings(Protocol):
    """The sightings table: `ticket_id -> encoded partitions`."""

    def get(self, key: str, default: bytes | None = None, /) -> bytes | None: ...

    def __setitem__(self, key: str, value: bytes, /) -> None: ...

    def pop(self, key: str, default: bytes | None = None, /) -> bytes | None: ...


class PartitionMetrics:
    """The counters of this module and of the ticket lookup, on the worker's registry."""

    def __init__(self, registry: CollectorRegistry, topic: str) -> None:
        self.mispartitioned = Counter(
            "sla_mispartitioned_records",
            "Input records not on murmur2(key) mod N, by the partitioner that explains them",
            ["topic", "partitioner"],
            registry=registry,
        )
        self.split = Counter(
            "sla_split_tickets",
            "Tickets found with events on more than one input partition (reported again when "
            "one more partition is found)",
            ["topic"],
            registry=registry,
        )
        self.lookups = Counter(
            "sla_ticket_lookup_requests",
            "Requests this worker sent to other workers to find a ticket it does not hold",
            ["kind"],
            registry=registry,
        )
        for pattern in MISPARTITION_PATTERNS:
            self.mispartitioned.labels(topic, pattern)
        self.split.labels(topic)
        for kind in LOOKUP_KINDS:
            self.lookups.labels(kind)


def encode_partitions(partitions: Iterable[int]) -> bytes:
    return ",".join(str(p) for p in sorted(set(partitions))).encode()


def decode_partitions(value: bytes | None) -> set[int]:
    if not value:
        return set()
    return {int(p) for p in value.split(b",")}


def is_sighting(record: Record) -> bool:
    return bool(record.headers) and any(name == SIGHTING_HEADER for name, _ in record.headers)


Send = Callable[[str, int, int, bool], Awaitable[None]]
"""`send(ticket_id, home, partition, gone)`: append a sighting of the ticket on `partition` to
`home` (with `gone`: its state there was deleted)."""


class PartitionWatch:
    """Checks input records after the service handled them, and handles sighting records."""

    def __init__(
        self,
        topic: str,
        partitions: int,
        metrics: PartitionMetrics,
        sightings: Sightings,
        row_partition: Callable[[str], int | None],
        send: Send,
        *,
        memory: int = MEMORY,
    ) -> None:
        self.topic, self.partitions, self.metrics = topic, partitions, metrics
        self.sightings, self.row_partition, self.send = sightings, row_partition, send
        self.memory = memory
        self._checked: OrderedDict[tuple[str, int], str | None] = OrderedDict()
        """(ticket, partition) already checked -> the pattern of the ticket id as a key."""
        self._warned: set[str] = set()
        self._gone: deque[tuple[str, int, int]] = deque()
        """(ticket, home, partition) whose state was deleted, to tell the home partition."""

    async def on_input(self, record: Record) -> None:
        """An input record the service has handled (ticks are ignored). Never raises: the
        record is the service's, already handled; a failure here only costs a sighting."""
        try:
            await self._on_input(record)
        except Exception:
            log.exception("partition check of %s/%d@%d failed", record.topic, *_where(record))

    async def on_sighting(self, record: Record) -> None:
        """A sighting record, read on the ticket's home partition. Never raises."""
        try:
            self._on_sighting(record)
        except Exception:
            log.exception("sighting record %s/%d@%d failed", record.topic, *_where(record))

    def forget(self, ticket: str, partition: int) -> None:
        """The ticket's state on `partition` was deleted (its retention ended), inside the
        stream of that partition: its sighting is withdrawn, so the table does not grow."""
        try:
            self._checked.pop((ticket, partition), None)
            home = home_partition(ticket.encode(), self.partitions)
            if home == partition:
                self._drop(ticket, partition)
            else:  # sent with the next record's check (this runs inside the service's commit)
                self._gone.append((ticket, home, partition))
        except Exception:
            log.exception("withdrawing the sighting of ticket %r failed", ticket)

    async def _withdraw(self) -> None:
        while self._gone:
            ticket, home, partition = self._gone[0]
            await self.send(ticket, home, partition, True)
            self._gone.popleft()

    async def _on_input(self, record: Record) -> None:
        await self._withdraw()
        if record.headers and any(name == TICK_HEADER for name, _ in record.headers):
            return
        ticket = _ticket_of(record)
        if ticket is None:
            return  # not an event the service could take: it went to the DLQ
        entry = (ticket, record.partition)
        checked = entry in self._checked
        if checked:
            self._checked.move_to_end(entry)
            pattern = self._checked[entry]
        else:
            pattern = mispartition_pattern(ticket.encode(), record.partition, self.partitions)
        if record.key is None:
            pattern = "no_key"
        if pattern is not None:
            self._count(pattern, ticket, record.partition)
        if checked or self.row_partition(ticket) != record.partition:
            return  # done before, or no state for it here (an invalid event): nothing to sight
        home = home_partition(ticket.encode(), self.partitions)
        if home != record.partition:
            await self.send(ticket, home, record.partition, False)
        self._remember(entry, pattern)
        if home != record.partition:
            return
        known = decode_partitions(self.sightings.get(ticket))
        if known and home not in known:  # sighted elsewhere before its home had state
            self._add(ticket, known, {home})

    def _on_sighting(self, record: Record) -> None:
        ticket, seen_on, gone = _parse_sighting(record)
        if not ticket or not 0 <= seen_on < self.partitions:
            log.warning("ignoring a malformed sighting record at %d@%d", *_where(record))
            return
        if gone:
            self._drop(ticket, seen_on)
            return
        found = {seen_on}
        if self.row_partition(ticket) == record.partition:
            found.add(record.partition)
        self._add(ticket, decode_partitions(self.sightings.get(ticket)), found)

    def _add(self, ticket: str, known: set[int], found: set[int]) -> None:
        """Store the partitions the ticket is known on; report it when that spans a new one."""
        grown = known | found
        if grown == known:
            return
        self.sightings[ticket] = encode_partitions(grown)
        if len(grown) > 1:
            self.metrics.split.labels(self.topic).inc()
            log.error(
                "ticket %r has events on partitions %s of %s: each partition keeps its own SLA "
                "state for it, so its SLA is split (alerts and /tickets/%s may be wrong); its "
                "producers use different partitioners (README: Partitioning of the input topic)",
                ticket,
                sorted(grown),
                self.topic,
                ticket,
            )

    def _drop(self, ticket: str, partition: int) -> None:
        known = decode_partitions(self.sightings.get(ticket))
        if partition not in known:
            return
        known.discard(partition)
        if known:
            self.sightings[ticket] = encode_partitions(known)
        else:
            self.sightings.pop(ticket, None)

    def _remember(self, entry: tuple[str, int], pattern: str | None) -> None:
        self._checked[entry] = pattern
        if len(self._checked) > self.memory:
            self._checked.popitem(last=False)

    def _count(self, pattern: str, ticket: str, partition: int) -> None:
        self.metrics.mispartitioned.labels(self.topic, pattern).inc()
        if pattern in self._warned:
            return
        self._warned.add(pattern)
        home = home_partition(ticket.encode(), self.partitions)
        log.warning(
            "%s: records are not partitioned by murmur2(key) mod %d (%s), e.g. ticket %r on "
            "partition %d instead of %d. Their SLA is still computed and /tickets finds them, "
            "but a ticket written by two such producers splits; set the producer's partitioner "
            "to murmur2 (librdkafka: partitioner=murmur2_random; README: Partitioning of the "
            "input topic). Logged once per pattern; counted in sla_mispartitioned_records_total",
            self.topic,
            self.partitions,
            _PATTERN_TEXT[pattern],
            ticket,
            partition,
            home,
        )


_PATTERN_TEXT = {
    "crc32": "their partition is CRC32(key) mod N: librdkafka's default consistent_random",
    "fnv1a": "their partition is FNV-1a(key) mod N: librdkafka fnv1a or kafka-go's Hash",
    "fnv1a_sarama": "their partition is Sarama's default FNV-1a hash",
    "unknown": "no known hash explains their partition: random, round-robin or explicit",
    "no_key": "they have no key; the key must be the ticket_id",
}


def sighting_value(partition: int, gone: bool) -> bytes:
    """The `sla-sighting` header: the partition, then ` gone` when its state was deleted."""
    return f"{partition} gone".encode() if gone else str(partition).encode()


def _parse_sighting(record: Record) -> tuple[str, int, bool]:
    """(ticket, partition, gone) of a sighting record; partition -1 when malformed."""
    try:
        ticket = (record.key or b"").decode()
        value = next(v for name, v in record.headers if name == SIGHTING_HEADER).split(b" ")
        if len(value) > 2 or (len(value) == 2 and value[1] != b"gone"):
            return ticket, -1, False
        return ticket, int(value[0]), len(value) == 2
    except (UnicodeDecodeError, ValueError):
        return "", -1, False


def _ticket_of(record: Record) -> str | None:
    """The ticket a record is for: its key, else (a keyless record) its JSON `ticket_id`."""
    if record.key is not None:
        try:
            return record.key.decode()
        except UnicodeDecodeError:
            return None
    try:
        ticket = json.loads(record.value or b"").get("ticket_id")
    except (ValueError, AttributeError):
        return None
    return ticket if isinstance(ticket, str) and ticket else None


def _where(record: Record) -> tuple[int, int]:
    return record.partition, record.offset
