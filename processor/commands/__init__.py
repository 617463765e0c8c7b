"""The `sla-processor` commands, one module per command or command group.

`processor.cli` builds the group from them; the logic they drive lives in the packages they
import (`processor.replay`, `processor.worker`, `processor.simulate`, `processor.kafka.admin`).
"""
