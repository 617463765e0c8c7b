"""HTTP pages on the worker's web port: /healthz, /metrics, /tickets/{ticket_id}.

A ticket this worker does not hold is looked for on the others by `processor/worker/lookup.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from processor.domain.alerts import format_instant
from processor.domain.calendar import BusinessCalendar
from processor.domain.clocks import spent_at
from processor.domain.machine import SlaMachine
from processor.domain.state import TicketState
from processor.worker.faust_compat import standby_remaining
from processor.worker.lookup import ASKED_BY_HEADER, LOOKUP_HEADER, TicketLookup
from processor.worker.rows import decode_state

if TYPE_CHECKING:
    from processor.worker.app import SlaApp

__all__ = ["metric_views", "register_pages", "ticket_view"]


def register_pages(
    sla: SlaApp, table: Any, registry: CollectorRegistry, lookup: TicketLookup
) -> None:
    app = sla.faust

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        ready = sla.ready and not app.rebalancing
        body = {
            "status": "ready" if ready else "recovering",
            "indexed": len(sla.service.index),
            "standby_remaining": standby_remaining(app),
        }
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
        "state": _phase(state),
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
    if state.first_running and state.deadline is not None:
        calendar = machine.policy.calendar(state.tier, state.timezone, state.country)  # type: ignore[arg-type]
        view["remaining_business_seconds"] = _remaining(calendar, now, state.deadline)
    if state.life is not None:
        view["status"] = state.life.status
        view["metrics"] = metric_views(state, machine, now)
    return view


def metric_views(state: TicketState, machine: SlaMachine, now: datetime) -> dict[str, Any]:
    """Each metric's state: running, paused, met, breached (or none: no cycle yet), with its
    target, deadline and remaining business seconds while it runs."""
    calendar = machine.policy.calendar(state.tier, state.timezone, state.country)  # type: ignore[arg-type]
    first: dict[str, Any] = {"state": "running" if state.first_running else _done(state.met)}
    if state.first_running and state.deadline is not None:
        first["remaining_business_seconds"] = _remaining(calendar, now, state.deadline)
    views: dict[str, Any] = {machine.policy.metric: first}
    life = state.life
    assert life is not None
    for metric, clock in (("next_reply", life.next_reply), ("resolution", life.resolution)):
        if metric not in machine.policy.metric_names:
            continue
        if clock is None:
            views[metric] = {"state": "final" if state.phase == "stopped" else "none"}
            continue
        target = timedelta(seconds=clock.target_seconds)
        spent = spent_at(clock, calendar, now)
        stopped = metric == "resolution" and life.status == "solved"
        kind = _done(spent <= target) if stopped else "running" if clock.running else "paused"
        entry: dict[str, Any] = {
            "state": kind,
            "started_at": _fmt(clock.start),
            "target_seconds": clock.target_seconds,
            "business_seconds": spent.total_seconds(),
            "remaining_business_seconds": (target - spent).total_seconds(),
            "alerts_sent": [t for _, t in clock.sent],
        }
        if clock.running and clock.deadline is not None:
            entry["deadline"] = _fmt(clock.deadline)
        views[metric] = entry
    return views


def _done(met: bool | None) -> str:
    return "met" if met else "breached"


def _remaining(calendar: BusinessCalendar, now: datetime, deadline: datetime) -> float:
    if now < deadline:
        return calendar.between(now, deadline).total_seconds()
    return -calendar.between(deadline, now).total_seconds()


def _phase(state: TicketState) -> str:
    if state.phase == "open" and state.stopped_at is not None:
        return "open"  # first response done; next reply / resolution still run
    return {"pending": "awaiting_creation", "open": "awaiting_first_response"}.get(
        state.phase, "stopped"
    )


def _fmt(at: datetime | None) -> str | None:
    return None if at is None else format_instant(at)
