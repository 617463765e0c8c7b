"""`Batches`: the agent's side of a batch; a record the consumer says arrived out of order
(`faust_compat.arrived`) is not handled (its copy comes again, in order)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from processor.worker.batches import Batches, BatchScope
from processor.worker.service import Record


class _Service:
    def __init__(self) -> None:
        self.got: list[int] = []

    async def on_batch(self, records: Sequence[Record]) -> None:
        self.got.extend(r.offset for r in records)

    async def on_record(self, record: Record) -> None:
        self.got.append(record.offset)


class _Watch:
    async def on_input(self, record: Record) -> None:
        pass


class _Event:
    """A faust event as the agent gets it (table writes hold a weak reference to it)."""

    def __init__(self, offset: int) -> None:
        self.message = SimpleNamespace(
            topic="in", partition=1, offset=offset, key=b"T-1", value=b"{}", headers=[]
        )


def _event(offset: int) -> Any:
    return _Event(offset)


async def test_a_record_out_of_order_is_left_out_of_its_batch_and_alone() -> None:
    service = _Service()
    late = {103}
    batches = Batches(
        service,  # type: ignore[arg-type]
        _Watch(),  # type: ignore[arg-type]
        BatchScope(),
        lambda message: message.offset not in late,
    )
    await batches.on_batch([_event(o) for o in (103, 101, 102)])
    await batches.on_event(_event(103))
    late.clear()
    await batches.on_event(_event(103))
    assert service.got == [101, 102, 103]
