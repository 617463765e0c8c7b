"""The one driver of the SLA core, shared by the live worker and the offline commands.

`TicketRuntime` owns what both need around `SlaMachine`: the ticket store protocol, the deadline
index, the bookkeeping of outcomes and the watermark, which is a pluggable strategy: event time
for `replay` (`EventTimeWatermarks`), tick records for the live worker (`TickWatermarks`). It does
no I/O and never reads a clock: every instant is passed in. Drivers feed it events and watermark
moves, publish the alerts of each `Step`, and then `commit` it (so a live state never records an
alert as sent before the broker acknowledged it).
"""

from processor.runtime.index import DeadlineIndex
from processor.runtime.runtime import Step, TicketRuntime
from processor.runtime.store import MemoryStore, TicketStore
from processor.runtime.watermarks import EventTimeWatermarks, Late, TickWatermarks

__all__ = [
    "DeadlineIndex",
    "EventTimeWatermarks",
    "Late",
    "MemoryStore",
    "Step",
    "TickWatermarks",
    "TicketRuntime",
    "TicketStore",
]
