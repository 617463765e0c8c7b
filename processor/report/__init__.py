"""`sla-processor report`: SLA compliance from a replayed log, and a policy change tried on it.

`collect` runs the log through `processor.replay.Replayer` (one replay per policy, the lines read
and parsed once) and keeps what the core reports: every stopped clock (`StopRecord`), every page
(near-breach and breach alerts) and, at the end, the clocks still running. `aggregate` and
`compare` turn that into tables (pure, no I/O); `text`, `machine` (CSV, JSON) and `html` write
them. The columns are documented in docs/report.md.
"""

from processor.report.aggregate import Summary, summarise
from processor.report.collect import Ledger, Running, collect
from processor.report.compare import Comparison, compare

__all__ = ["Comparison", "Ledger", "Running", "Summary", "collect", "compare", "summarise"]
