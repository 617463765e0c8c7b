"""HTTP pages on the worker's web port: /healthz, /metrics, /tickets/{ticket_id}."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from processor.domain.alerts import format_instant
from processor.domain.machine import SlaMachine
from processor.domain.state import TicketState
from processor.worker.rows import decode_state

if TYPE_CHECKING:
    from processor.worker.app import SlaApp

__all__ = ["register_pages", "ticket_view"]


def register_pages(sla: SlaApp, table: Any, registry: CollectorRegistry) -> None:
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
    @app.table_route(table=table, match_info="ticket_id")
    async def ticket(web: Any, request: Any, ticket_id: str) -> Any:
        row = table.get(ticket_id.encode())
        if row is None:
            return web.json({"error": f"no SLA state for ticket {ticket_id!r}"}, status=404)
        state = decode_state(bytes(row))
        return web.json(ticket_view(state, sla.service.machine, sla.service.clock()))


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
