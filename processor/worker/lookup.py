"""`GET /tickets/{id}` across workers, whatever partitioner put the ticket's events where they are.

Faust's `table_route` sends a request to the owner of murmur2(id) mod N only, so a ticket written
by another partitioner (librdkafka's CRC32 by default) was "not found" from every worker. Here:

1. A worker that holds the ticket (any of its partitions) answers.
2. Otherwise it asks the owner of the ticket's home partition (murmur2), which holds the
   ticket's *sightings* (`processor/worker/sightings.py`): the partitions it was seen on.
3. The home owner, if it does not hold the ticket, asks the owners of, in order: the sighted
   partitions, then the partitions the other known partitioners give the id (CRC32, FNV-1a,
   Sarama's FNV-1a). Distinct workers only, never the asker or itself, at most
   `SLA_TICKET_LOOKUP_FANOUT` of them, concurrently; they answer from their own table only.

So a miss costs at most 1 + the cap requests, whatever the number of workers; with two workers it
costs 1. Requests between workers carry `X-SLA-Lookup` (`home` or `local`) so none is forwarded
twice. The sightings cover any partitioner; the hash candidates cover a ticket whose sighting is
still in flight.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping

from processor.kafka.partitioning import candidate_partitions, murmur2_partition
from processor.worker.sightings import PartitionMetrics

__all__ = ["ASKED_BY_HEADER", "LOOKUP_HEADER", "Answer", "TicketLookup", "fanout_targets"]

LOOKUP_HEADER = "X-SLA-Lookup"
ASKED_BY_HEADER = "X-SLA-Asked-By"
Answer = tuple[int, bytes]
Fetch = Callable[[str, str, Mapping[str, str]], Awaitable[Answer]]
"""`fetch(worker_url, ticket_id, headers)`: that worker's answer for the ticket; raises OSError
or TimeoutError when it cannot be reached."""


def fanout_targets(
    ticket_id: str,
    partitions: int,
    owners: Mapping[int, str],
    skip: Iterable[str],
    sighted: Iterable[int],
    cap: int,
) -> list[str]:
    """The workers to ask for a ticket the home owner does not hold, in order, at most `cap`."""
    skipped = set(skip)
    out: list[str] = []
    for p in [*sorted(sighted), *candidate_partitions(ticket_id.encode(), partitions)]:
        url = owners.get(p)
        if url is not None and url not in skipped and url not in out:
            out.append(url)
    return out[:cap]


class TicketLookup:
    """Finds a ticket the asking worker does not hold (steps 2 and 3 above)."""

    def __init__(
        self,
        partitions: int,
        cap: int,
        me: str,
        owners: Callable[[], Mapping[int, str]],
        sighted: Callable[[str], set[int]],
        fetch: Fetch,
        metrics: PartitionMetrics,
    ) -> None:
        self.partitions, self.cap, self.me = partitions, cap, me
        self.owners, self.sighted, self.fetch, self.metrics = owners, sighted, fetch, metrics

    async def find(self, ticket_id: str, mode: str | None, asked_by: str | None) -> Answer:
        """The answer for a ticket not held here; `mode` is the request's LOOKUP_HEADER."""
        if mode == "local":
            return _not_found(ticket_id)
        owners = self.owners()
        home = owners.get(murmur2_partition(ticket_id.encode(), self.partitions))
        if mode != "home" and home is not None and home != self.me:
            self.metrics.lookups.labels("home").inc()
            asking = {LOOKUP_HEADER: "home", ASKED_BY_HEADER: self.me}
            return await self._ask(home, ticket_id, asking)
        skip = [self.me] if asked_by is None else [self.me, asked_by]
        targets = fanout_targets(
            ticket_id, self.partitions, owners, skip, self.sighted(ticket_id), self.cap
        )
        self.metrics.lookups.labels("fanout").inc(len(targets))
        answers = await asyncio.gather(
            *(self._ask(url, ticket_id, {LOOKUP_HEADER: "local"}) for url in targets)
        )
        for status, body in answers:
            if status == 200:
                return status, body
        failed = [url for url, (status, _) in zip(targets, answers, strict=True) if status != 404]
        if failed:
            return _error(503, f"ticket {ticket_id!r} not found; workers not answering: {failed}")
        return _not_found(ticket_id)

    async def _ask(self, url: str, ticket_id: str, headers: Mapping[str, str]) -> Answer:
        try:
            return await self.fetch(url, ticket_id, headers)
        except (OSError, TimeoutError) as exc:
            return _error(503, f"worker {url} did not answer for ticket {ticket_id!r}: {exc}")


def _not_found(ticket_id: str) -> Answer:
    return _error(404, f"no SLA state for ticket {ticket_id!r}")


def _error(status: int, message: str) -> Answer:
    return status, json.dumps({"error": message}).encode()
