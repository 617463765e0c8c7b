"""HTTP pages on the worker's web port: /healthz, /metrics, /tickets/{ticket_id}.

A ticket this worker does not hold is looked for on the others by `processor/worker/lookup.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from processor.domain.alerts import format_instant
from processor.domain.machine import SlaMachine
from processor.domain.state import TicketState
from processor.worker.lookup import ASKED_BY_HEADER, LOOKUP_HEADER, TicketLookup
from processor.worker.rows import decode_state

if TYPE_CHECKING:
    from processor.worker.app import SlaApp

__all__ = ["register_pages", "ticket_view"]


def register_pages(
    sla: SlaApp, table: Any, registry: CollectorRegistry, lookup: TicketLookup
) -> None:
    app = sla.faust

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        ready = sla.ready and not app.rebalancing
        body = {"status": "ready" if ready else "recovering", "indexed": len(sla.service.index)}
        return web.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # CONTENT_TYPE_LATEST carries a charset, which aiohttp only takes as a header.
        return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/tickets/{ticket_id}")
    async def ticket(web: Any, request: Any, ticket_id: str) -> Any:
        row = table.get(ticket_id.encode())
        if row is not None:
            state = decode_state(bytes(row))
            return web.json(ticket_view(state, sla.service.machine, sla.service.clock()))
        headers = request.headers
        status, body = await lookup.find(
            ticket_id, headers.get(LOOKUP_HEADER), headers.get(ASKED_BY_HEADER)
        )
        return web.bytes(body, content_type="application/json", status=status)


def ticket_view(state: TicketState, machine: SlaMachine, now: datetime) -> dict[str, Any]:
    """The public JSON view of one ticket's SLA state."""
    view: dict[str, Any] = {
        "ticket_id": state.ticket_id,
        "state": {
            "pending": "awaiting_creation",
            "open": "awaiting_first_response",
            "stopped": "stopped",
        }[state.phase],
        "customer_id": state.customer_id or None,
        "tier": state.tier or None,
        "priority": state.priority or None,
        "timezone": state.timezone,
        "created_at": _fmt(state.created_at),
        "deadline": _fmt(state.deadline),
        "target_seconds": state.target_seconds or None,
        "alerts_sent": [{"deadline": d, "threshold": t} for d, t in state.sent],
        "resolved_sent": state.resolved_sent,
        "stopped_at": _fmt(state.stopped_at),
        "stop_reason": state.stop_reason,
        "met": state.met,
        "policy_version": machine.policy.version,
    }
    if state.phase == "open" and state.deadline is not None:
        calendar = machine.policy.calendar(state.tier, state.timezone)  # type: ignore[arg-type]
        if now < state.deadline:
            remaining = calendar.between(now, state.deadline).total_seconds()
        else:
            remaining = -calendar.between(state.deadline, now).total_seconds()
        view["remaining_business_seconds"] = remaining
    return view


def _fmt(at: datetime | None) -> str | None:
    return None if at is None else format_instant(at)
