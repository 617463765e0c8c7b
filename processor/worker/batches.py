"""The agent's side of a batch: faust events in, `SlaService.on_batch` and sightings out.

`Stream.take_events` hands the agent a list of faust events with no current event, and a faust
table write takes its changelog partition from the current event. `BatchScope` makes each write
of a batch in the context of the batch's last record of the partition it goes to, so a state
lands on its own partition's changelog whatever order the batch commits in. Sightings (records
the workers append to the input topic) split a batch: the records before one are handled first,
then the sighting in its own record's context, so each partition keeps its log order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from processor.worker.faust_compat import in_event
from processor.worker.service import Record, SlaService
from processor.worker.sightings import PartitionWatch, is_sighting

__all__ = ["BatchScope", "Batches", "record_of"]


class BatchScope:
    """`scope(partition)`: the context of a table write (see the module docstring). Outside a
    batch (the per-record loop) faust's own current event stands."""

    def __init__(self) -> None:
        self.events: dict[int, Any] = {}

    def __call__(self, partition: int) -> AbstractContextManager[object]:
        if not self.events:
            return nullcontext()
        event = self.events.get(partition)
        if event is None:
            raise RuntimeError(f"table write for partition {partition} outside its batch")
        return in_event(event)


class Batches:
    """`in_order(message)`: False for a record that reached the agent out of order (dropped
    here; its copy comes again in order: `faust_compat.arrived`)."""

    def __init__(
        self,
        service: SlaService,
        watch: PartitionWatch,
        scope: BatchScope,
        in_order: Callable[[Any], bool] = lambda message: True,
    ) -> None:
        self.service, self.watch, self.scope = service, watch, scope
        self.in_order = in_order

    async def on_event(self, event: Any) -> None:
        """One faust event, alone (inside faust's own iteration)."""
        if not self.in_order(event.message):
            return
        record = record_of(event.message)
        if is_sighting(record):
            await self.watch.on_sighting(record)
            return
        await self.service.on_record(record)
        await self.watch.on_input(record)

    async def on_batch(self, events: Sequence[Any]) -> None:
        chunk: list[tuple[Any, Record]] = []
        for event in events:
            if not self.in_order(event.message):
                continue
            record = record_of(event.message)
            if not is_sighting(record):
                chunk.append((event, record))
                continue
            await self._flush(chunk)
            chunk = []
            with in_event(event):
                await self.watch.on_sighting(record)
        await self._flush(chunk)

    async def _flush(self, chunk: list[tuple[Any, Record]]) -> None:
        if not chunk:
            return
        self.scope.events = {event.message.partition: event for event, _ in chunk}
        try:
            await self.service.on_batch([record for _, record in chunk])
        finally:
            self.scope.events = {}
        for event, record in chunk:
            with in_event(event):
                await self.watch.on_input(record)


def record_of(message: Any) -> Record:
    """The service's view of a faust message."""
    headers = message.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return Record(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        [(str(k), bytes(v or b"")) for k, v in headers],
    )
