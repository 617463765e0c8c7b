"""A test hook for the "no record lost" paths: the SLA core raising for chosen tickets.

`FaultyMachine` raises inside `apply` for tickets named `boom-*` and inside `due` for tickets
named `tickboom-*`. Run as a script, this is `sla-processor worker` (same settings, same app)
with that core injected through `create_app(machine=...)`; no Kafka part is patched.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from processor.domain.events import Event
from processor.domain.machine import Outcome, SlaMachine
from processor.domain.state import TicketState


class FaultyMachine(SlaMachine):
    def apply(
        self,
        state: TicketState | None,
        event: Event,
        now: datetime,
        horizon: datetime | None = None,
    ) -> tuple[TicketState, Outcome]:
        if event.ticket_id.startswith("boom-"):
            raise ZeroDivisionError("injected fault")
        return super().apply(state, event, now, horizon)

    def due(
        self, state: TicketState, watermark: datetime, now: datetime, *, inclusive: bool = False
    ) -> Outcome:
        if state.ticket_id.startswith("tickboom-"):
            raise OverflowError("injected overflow")
        return super().due(state, watermark, now, inclusive=inclusive)


def main() -> None:
    from faust.worker import Worker

    from processor.commands.options import settings_from
    from processor.domain.policy import load_policy
    from processor.kafka.admin import ensure_topics
    from processor.worker.app import create_app

    settings = settings_from()
    machine = FaultyMachine(load_policy(settings.policy_file))
    sla = create_app(settings, machine=machine)
    asyncio.run(ensure_topics(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    Worker(sla.faust, loglevel=settings.log_level, quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
