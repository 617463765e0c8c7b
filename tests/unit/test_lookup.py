"""Routing of `GET /tickets/{id}` for a ticket the asked worker does not hold.

The workers are `Worker` objects answering through the `fetch` seam as the real page does (their
own table, then `TicketLookup.find`); tests/integration/test_partitioners.py runs real workers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry

from processor.kafka.partitioning import candidate_partitions, murmur2_partition, partition_by
from processor.worker.lookup import (
    ASKED_BY_HEADER,
    LOOKUP_HEADER,
    Answer,
    TicketLookup,
    fanout_targets,
)
from processor.worker.sightings import PartitionMetrics

N = 8


class Cluster:
    """Workers w0..w{k-1}; partition p is owned by worker p mod k."""

    def __init__(self, workers: int, cap: int = 3) -> None:
        self.owners = {p: f"w{p % workers}" for p in range(N)}
        self.held: dict[str, set[str]] = {f"w{i}": set() for i in range(workers)}
        self.sightings: dict[str, set[int]] = {}
        self.requests: list[tuple[str, str, str]] = []  # (to, ticket, mode)
        self.down: set[str] = set()
        self.lookups = {
            w: TicketLookup(
                N,
                cap,
                w,
                lambda: self.owners,
                lambda t, w=w: self.sighted(w, t),
                self.fetch,
                PartitionMetrics(CollectorRegistry(), "events"),
            )
            for w in self.held
        }

    def sighted(self, worker: str, ticket: str) -> set[int]:
        home = murmur2_partition(ticket.encode(), N)
        return self.sightings.get(ticket, set()) if self.owners[home] == worker else set()

    def put(self, ticket: str, partition: int) -> None:
        self.held[self.owners[partition]].add(ticket)

    async def get(
        self, worker: str, ticket: str, headers: Mapping[str, str] | None = None
    ) -> Answer:
        headers = headers or {}
        if ticket in self.held[worker]:
            return 200, json.dumps({"ticket_id": ticket, "at": worker}).encode()
        lookup = self.lookups[worker]
        return await lookup.find(ticket, headers.get(LOOKUP_HEADER), headers.get(ASKED_BY_HEADER))

    async def fetch(self, url: str, ticket: str, headers: Mapping[str, str]) -> Answer:
        self.requests.append((url, ticket, headers[LOOKUP_HEADER]))
        if url in self.down:
            raise OSError("connection refused")
        return await self.get(url, ticket, headers)


def crc(ticket: str) -> int:
    return partition_by("crc32", ticket.encode(), N)


def home(ticket: str) -> int:
    return murmur2_partition(ticket.encode(), N)


def pick(cluster: Cluster, entry_is_home: bool) -> str:
    """A ticket whose CRC32 owner differs from its murmur2 owner and from w0 unless asked."""
    for t in (f"T-{i}" for i in range(2000)):
        o = cluster.owners
        if o[crc(t)] != o[home(t)] and o[crc(t)] != "w0" and (o[home(t)] == "w0") == entry_is_home:
            return t
    raise AssertionError("no such ticket")


@pytest.mark.parametrize("entry_is_home", [True, False])
async def test_a_librdkafka_ticket_is_found_from_any_worker(entry_is_home: bool) -> None:
    cluster = Cluster(workers=4)
    t = pick(cluster, entry_is_home)
    cluster.put(t, crc(t))
    status, body = await cluster.get("w0", t)
    assert status == 200 and json.loads(body)["at"] == cluster.owners[crc(t)]
    assert len(cluster.requests) <= 1 + 3


async def test_sightings_route_to_a_partition_no_hash_predicts() -> None:
    cluster = Cluster(workers=8, cap=1)
    t = "T-1"
    odd = next(p for p in range(N) if p not in candidate_partitions(t.encode(), N))
    cluster.put(t, odd)
    cluster.sightings[t] = {odd}
    status, body = await cluster.get(cluster.owners[home(t)], t)
    assert status == 200 and json.loads(body)["at"] == cluster.owners[odd]
    assert cluster.requests == [(cluster.owners[odd], t, "local")]


async def test_a_miss_costs_at_most_one_plus_the_cap_whatever_the_workers() -> None:
    for workers in (2, 4, 8):
        for cap in (0, 1, 3):
            cluster = Cluster(workers=workers, cap=cap)
            for i in range(50):
                cluster.requests.clear()
                status, _ = await cluster.get("w1", f"missing-{i}")
                assert status == 404
                assert len(cluster.requests) <= 1 + cap
                assert len({(to, mode) for to, _, mode in cluster.requests}) == len(
                    cluster.requests
                )


async def test_with_two_workers_a_miss_costs_one_request() -> None:
    cluster = Cluster(workers=2)
    for i in range(50):
        cluster.requests.clear()
        entry = f"w{i % 2}"
        assert (await cluster.get(entry, f"missing-{i}"))[0] == 404
        if cluster.owners[home(f"missing-{i}")] != entry:
            assert len(cluster.requests) == 1  # the home owner, which asks nobody else
        else:  # it is the home owner: the other worker, if a known hash points there
            others = {cluster.owners[p] for p in candidate_partitions(f"missing-{i}".encode(), N)}
            assert len(cluster.requests) == len(others - {entry})


async def test_forwarded_requests_are_never_forwarded_again() -> None:
    cluster = Cluster(workers=4)
    assert (await cluster.get("w2", "x", {LOOKUP_HEADER: "local"}))[0] == 404
    assert cluster.requests == []
    await cluster.get("w2", "x", {LOOKUP_HEADER: "home", ASKED_BY_HEADER: "w1"})
    assert all(mode == "local" and to not in ("w1", "w2") for to, _, mode in cluster.requests)


async def test_an_unreachable_worker_is_503_not_404() -> None:
    cluster = Cluster(workers=4)
    t = pick(cluster, entry_is_home=True)
    cluster.put(t, crc(t))
    cluster.down.add(cluster.owners[crc(t)])
    status, body = await cluster.get("w0", t)
    assert status == 503 and "not answering" in json.loads(body)["error"]


def test_fanout_targets_order_dedupe_and_cap() -> None:
    owners = {0: "a", 1: "b", 2: "b", 3: "c", 4: "d"}
    key = "T-7"
    hashed = [owners[p] for p in candidate_partitions(key.encode(), 5)]
    got = fanout_targets(key, 5, owners, ["zzz"], [4], cap=10)
    assert got[0] == "d" and len(got) == len(set(got))
    assert set(got) == {"d", *hashed}
    assert fanout_targets(key, 5, owners, ["zzz"], [4], cap=1) == ["d"]
    assert "d" not in fanout_targets(key, 5, owners, ["d"], [4], cap=10)
