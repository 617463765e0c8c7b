"""The faust side of sightings and of `/tickets` lookups: the `sightings` table, the sighting
sender, who owns which partition, and the HTTP client between workers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import faust
from prometheus_client import CollectorRegistry
from yarl import URL

from processor.settings import Settings
from processor.worker.faust_compat import store_get
from processor.worker.lookup import LOOKUP_HEADER, Answer, TicketLookup
from processor.worker.rows import decode_head
from processor.worker.sightings import (
    SIGHTING_HEADER,
    PartitionMetrics,
    PartitionWatch,
    decode_partitions,
    sighting_value,
)
from processor.worker.table_store import StrKeyTable, TicketTable

__all__ = ["LOOKUP_TIMEOUT", "Interop", "partition_owners"]

LOOKUP_TIMEOUT = 2.0
"""Seconds a worker waits for another's answer from its own table; twice that for the home
owner's answer, which may include its own fan-out."""


class Interop:
    """Built by `create_app`: `watch` for the agent, `lookup` for the /tickets page."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        events: Any,
        tickets: Any,
        registry: CollectorRegistry,
    ) -> None:
        self.app, self.events, self.tickets = app, events, tickets
        n = settings.partitions
        self.sightings = app.Table("sightings", partitions=n, key_type=bytes, value_type=bytes)
        metrics = PartitionMetrics(registry, settings.events_topic)
        self.watch = PartitionWatch(
            settings.events_topic, n, metrics, StrKeyTable(self.sightings), self._row, self._send
        )
        self.lookup = TicketLookup(
            n,
            settings.ticket_lookup_fanout,
            str(app.conf.canonical_url),
            lambda: partition_owners(app, tickets),
            lambda ticket: decode_partitions(_value(self.sightings.get(ticket.encode()))),
            self._fetch,
            metrics,
        )

    def _row(self, ticket: str) -> int | None:
        """The partition of the ticket's row (read inside the stream: the current partition's)."""
        row = store_get(self.tickets.data, ticket.encode())
        return None if row is None else decode_head(row)[0]

    def watched(self, table: TicketTable) -> TicketTable:
        """The ticket table the service writes, telling the watch when a ticket's row goes."""
        return _Forgetful(table, self.watch.forget)

    async def _send(self, ticket: str, home: int, partition: int, gone: bool) -> None:
        await self.events.send(
            key=ticket.encode(),
            value=b"",
            partition=home,
            headers=[(SIGHTING_HEADER, sighting_value(partition, gone))],
            force=True,
        )

    async def _fetch(self, url: str, ticket_id: str, headers: Mapping[str, str]) -> Answer:
        target = URL(url).with_path(f"/tickets/{quote(ticket_id, safe='')}", encoded=True)
        rounds = 2 if headers.get(LOOKUP_HEADER) == "home" else 1
        timeout = aiohttp.ClientTimeout(total=LOOKUP_TIMEOUT * rounds)
        try:
            async with self.app.http_client.get(
                target, headers=dict(headers), timeout=timeout
            ) as response:
                return int(response.status), await response.read()
        except aiohttp.ClientError as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc


def partition_owners(app: faust.App, table: Any) -> dict[int, str]:
    """Partition -> web URL of the worker that owns it, from the group's last assignment."""
    try:
        metadata = app.router.table_metadata(table.name)
    except Exception:  # no assignment yet
        return {}
    topic = table.changelog_topic.get_topic_name()
    return {p: str(url) for url, topics in metadata.items() for p in topics.get(topic, ())}


def _value(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


class _Forgetful:
    """A ticket table that calls `forget(ticket, partition)` when a ticket's row is deleted."""

    def __init__(self, table: TicketTable, forget: Callable[[str, int], None]) -> None:
        self._table, self._forget = table, forget

    def get(self, key: str, default: bytes | None = None) -> bytes | None:
        return self._table.get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self._table[key] = value

    async def flush(self) -> None:
        flush = getattr(self._table, "flush", None)
        if flush is not None:
            await flush()

    def pop(self, key: str, default: bytes | None = None) -> bytes | None:
        value = self._table.pop(key, None)
        if value is None:
            return default
        self._forget(key, decode_head(value)[0])
        return value
