"""Realistic helpdesk traffic as a pure, deterministic stream of events (no I/O, no wall clock).

`generate(config)` yields `Emission`s in emit order. The same `SimConfig` (seed, start instant,
rates, mixes, backdate, limits) always gives the same stream, byte for byte.

Schedule. Tickets arrive as a Poisson process (`rate` tickets/s, exponential gaps). Each ticket
gets a story of events at offsets `d >= 0` from its creation (`d = 0` for `ticket.created`);
delays are wall-clock times scaled by the SLA target of the ticket (`TARGET_SECONDS`): the first
public response is lognormal with a median of 40% of the target, ~12% later than the target.
After it, a ticket may wait on the customer (`pending`), get customer replies each answered by an
agent (next-reply cycles; a reply while pending takes it back to `open`), go `on_hold` for about
a day, be `solved`, reopened and solved again, and `closed` a few days after solving.

Backdate. With `backdate = B`, a ticket that arrives at instant `A` (`start` + its arrival offset)
is emitted at `A` with `occurred_at = A - B`; a follow-up at offset `d` has
`occurred_at = A - B + d` and is emitted at `max(A, A - B + d)`: never before its ticket's
creation, and never before its own `occurred_at`. So a consumer that reads events as they are
emitted has, at any wall-clock instant X >= A, seen every event of the ticket that occurred at or
before X. Events are emitted in `emit_at` order, ties in generation order; one ticket's events
are emitted in `occurred_at` order.

Noise. A duplicate (same bytes, same `event_id`) follows ~1% of events; ~0.5% of events are
followed by a malformed one of their ticket (not JSON, unknown type, priority 7, or a timestamp
without offset) with its own `event_id`, to show the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from processor.domain.constants import PRIORITIES, TIERS
from processor.domain.policy import default_policy

__all__ = [
    "DEFAULT_PRIORITY_MIX",
    "DEFAULT_TIER_MIX",
    "MALFORMED_KINDS",
    "TARGET_SECONDS",
    "TIMEZONES",
    "Emission",
    "SimConfig",
    "generate",
    "seed_prefix",
]

TARGET_SECONDS: Mapping[tuple[str, int], int] = {
    (tier, priority): int(default_policy().target(tier, priority).total_seconds())
    for tier in TIERS
    for priority in PRIORITIES
}
"""First-response targets of the shipped policy (basic counts business hours; used as wall time)."""

DEFAULT_TIER_MIX: Mapping[str, float] = {"basic": 0.5, "silver": 0.3, "gold": 0.2}
DEFAULT_PRIORITY_MIX: Mapping[int, float] = {1: 0.1, 2: 0.2, 3: 0.4, 4: 0.3}
TIMEZONES = (
    "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo",
    "Australia/Sydney", "UTC",
)  # fmt: skip
MALFORMED_KINDS = ("not_json", "unknown_type", "bad_priority", "naive_timestamp")

CUSTOMERS_PER_TIER = 12
AGENTS = 25
P_INTERNAL_NOTE = 0.3
P_DOWNGRADE = 0.05
P_UPGRADE = 0.03
P_CLOSE_UNANSWERED = 0.05
P_PENDING = 0.5
P_SOLVED = 0.6
P_CUSTOMER_REPLY = 0.5  # after the first response (a next-reply cycle)
P_ANOTHER_REPLY = 0.3  # a second cycle
P_ON_HOLD = 0.1
P_REOPEN = 0.1  # of solved tickets
P_CLOSE_SOLVED = 0.3  # of solved tickets, 1-3 days later
P_DUPLICATE = 0.01
P_MALFORMED = 0.005
RESPONSE_MEDIAN = 0.4  # of the target
RESPONSE_SIGMA = 0.78  # ln(1 / 0.4) / 0.78 = 1.17 standard deviations: ~12% late

Kind = Literal["event", "duplicate", "malformed"]


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Stops after `tickets` tickets (with all their follow-ups) or at
    `start + duration` (later emissions are dropped), whichever comes first; else never."""

    seed: int
    start: datetime
    rate: float = 2.0
    tiers: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_MIX))
    priorities: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_MIX))
    backdate: timedelta = timedelta(0)
    tickets: int | None = None
    duration: timedelta | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if not self.rate > 0:
            raise ValueError("rate must be > 0 tickets/s")
        if self.backdate < timedelta(0):
            raise ValueError("backdate must not be negative")
        if self.tickets is not None and self.tickets < 0:
            raise ValueError("tickets must not be negative")
        _check_mix("tier", self.tiers, {t for t, _ in TARGET_SECONDS})
        _check_mix("priority", self.priorities, {p for _, p in TARGET_SECONDS})


def _check_mix(name: str, mix: Mapping[Any, float], allowed: set[Any]) -> None:
    unknown = set(mix) - allowed
    if unknown:
        raise ValueError(f"unknown {name} {sorted(map(str, unknown))}; known: {sorted(allowed)}")
    if any(w < 0 for w in mix.values()) or not sum(mix.values()) > 0:
        raise ValueError(f"{name} weights must be >= 0 with a positive sum")


@dataclass(frozen=True)
class Emission:
    """One record to produce: `value` is exactly the bytes to send (key: `ticket_id`);
    `event` is the JSON object it encodes, or None when it is not JSON."""

    emit_at: datetime
    ticket_id: str
    value: bytes
    event: Mapping[str, Any] | None
    kind: Kind = "event"


def seed_prefix(seed: int) -> str:
    """Eight hex digits derived from the seed: ids of runs with different seeds differ."""
    return hashlib.sha256(f"sla-simulate:{seed}".encode()).hexdigest()[:8]


def generate(config: SimConfig) -> Iterator[Emission]:
    """The event stream of `config`, in emit order (see the module docstring)."""
    start = config.start.astimezone(UTC)
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    until = None if config.duration is None else _ms(config.duration)
    stories = _Storyteller(config, start)
    pending: list[tuple[int, int, Emission]] = []
    seq = 0
    for arrival in _arrivals(stories.rng, config.rate, config.tickets, until):
        while pending and pending[0][0] <= arrival:
            yield heapq.heappop(pending)[2]
        for at, emission in stories.tell(arrival):
            if until is None or at <= until:
                heapq.heappush(pending, (at, seq, emission))
                seq += 1
    while pending:
        yield heapq.heappop(pending)[2]


def _arrivals(
    rng: random.Random, rate: float, tickets: int | None, until: int | None
) -> Iterator[int]:
    """Arrival offsets (ms from start) of a Poisson process, first one after one gap."""
    clock, count = 0.0, 0
    while tickets is None or count < tickets:
        clock += rng.expovariate(rate)
        if until is not None and clock * 1000 > until:
            return
        count += 1
        yield round(clock * 1000)


def _ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def _rfc3339(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _encode(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


class _Storyteller:
    """Draws each ticket's story and turns it into timed emissions (the only random source)."""

    def __init__(self, config: SimConfig, start: datetime) -> None:
        self.rng = random.Random(config.seed)
        self.config, self.start = config, start
        self.prefix = seed_prefix(config.seed)
        self.backdate = _ms(config.backdate)
        self.count = 0
        self.zones = {
            (tier, n): self.rng.choice(TIMEZONES)
            for tier in sorted(config.tiers)
            for n in range(CUSTOMERS_PER_TIER)
        }

    def tell(self, arrival: int) -> list[tuple[int, Emission]]:
        """Emissions (emit offset in ms, emission) of the next ticket, arriving at `arrival`."""
        self.count += 1
        ticket_id = f"SIM-{self.prefix}-{self.count:06d}"
        result: list[tuple[int, Emission]] = []
        for number, (delay, fields) in enumerate(self._story(), start=1):
            occurred = self.start + timedelta(milliseconds=arrival + delay - self.backdate)
            event = {
                "type": fields.pop("type"),
                "event_id": f"{ticket_id}-{number}",
                "ticket_id": ticket_id,
                "occurred_at": _rfc3339(occurred),
                **fields,
            }
            emit = max(arrival, arrival + delay - self.backdate)
            result.extend((emit, e) for e in self._with_noise(event, emit))
        return result

    def _story(self) -> list[tuple[int, dict[str, Any]]]:
        """(delay in ms after creation, event fields) of one ticket, in occurred order."""
        rng = self.rng
        tier = _pick(rng, self.config.tiers)
        priority = _pick(rng, self.config.priorities)
        customer = rng.randrange(CUSTOMERS_PER_TIER)
        created = {
            "type": "ticket.created",
            "customer_id": f"cust-{tier}-{customer:02d}",
            "tier": tier,
            "priority": priority,
            "timezone": self.zones[tier, customer],
        }
        if rng.random() < P_CLOSE_UNANSWERED:
            closed_at = self._delay(TARGET_SECONDS[tier, priority], 0.3)
            steps = [*self._maybe_note(closed_at), (closed_at, _status("closed"))]
        else:
            steps = self._answered(tier, priority)
        return sorted([(0, created), *steps], key=lambda step: step[0])

    def _answered(self, tier: str, priority: int) -> list[tuple[int, dict[str, Any]]]:
        rng = self.rng
        new_priority = _priority_change(rng, priority)
        respond_at = self._delay(TARGET_SECONDS[tier, new_priority or priority], RESPONSE_MEDIAN)
        steps = list(self._maybe_note(respond_at))
        if new_priority is not None:
            reason = "impact lower than reported" if new_priority > priority else "escalated"
            change = {"type": "ticket.priority_changed", "priority": new_priority, "reason": reason}
            steps.append((round(respond_at * rng.uniform(0.05, 0.6)), change))
        steps.append((respond_at, self._agent()))
        return steps + self._conversation(respond_at, TARGET_SECONDS[tier, priority])

    def _agent(self) -> dict[str, Any]:
        return {
            "type": "ticket.agent_responded",
            "agent_id": f"agent-{self.rng.randrange(AGENTS):02d}",
        }

    def _conversation(self, at: int, target: int) -> list[tuple[int, dict[str, Any]]]:
        """After the first response: pending (waiting on the customer), customer replies and the
        agent's answers (next-reply cycles), on hold, solved, reopened, closed."""
        rng, steps = self.rng, []
        for chance in (P_CUSTOMER_REPLY, P_ANOTHER_REPLY):
            waiting = rng.random() < P_PENDING
            if waiting:
                at += rng.randrange(60_000, 900_000)
                steps.append((at, _status("pending")))
            if rng.random() >= chance:
                break
            at += self._delay(4 * 3600, 1.0)
            steps.append((at, {"type": "ticket.customer_replied", "author_id": "customer"}))
            if waiting:  # the customer's reply takes the ticket back to open
                steps.append((at + 1000, _status("open")))
            at += self._delay(2 * target, RESPONSE_MEDIAN)
            steps.append((at, self._agent()))
        if rng.random() < P_ON_HOLD:
            at += rng.randrange(60_000, 3_600_000)
            steps.append((at, _status("on_hold")))
            at += self._delay(24 * 3600, 1.0)
            steps.append((at, _status("open")))
        if rng.random() < P_SOLVED:
            at += self._delay(2 * 3600, 1.0)
            steps.append((at, _status("solved")))
            if rng.random() < P_REOPEN:
                at += self._delay(24 * 3600, 1.0)
                steps.append((at, _status("open")))
                at += self._delay(2 * 3600, 1.0)
                steps.append((at, _status("solved")))
            if rng.random() < P_CLOSE_SOLVED:
                at += rng.randrange(86_400_000, 3 * 86_400_000)
                steps.append((at, _status("closed")))
        return steps

    def _maybe_note(self, before: int) -> list[tuple[int, dict[str, Any]]]:
        if self.rng.random() >= P_INTERNAL_NOTE:
            return []
        agent = f"agent-{self.rng.randrange(AGENTS):02d}"
        note = {"type": "ticket.agent_responded", "agent_id": agent, "public": False}
        return [(round(before * self.rng.uniform(0.1, 0.9)), note)]

    def _delay(self, target_seconds: int, median: float) -> int:
        """A lognormal delay in ms with the given median (share of the target); at least 1 s."""
        seconds = target_seconds * median * self.rng.lognormvariate(0.0, RESPONSE_SIGMA)
        return max(1000, round(seconds * 1000))

    def _with_noise(self, event: dict[str, Any], emit: int) -> list[Emission]:
        emit_at = self.start + timedelta(milliseconds=emit)
        ticket_id = event["ticket_id"]
        out = [Emission(emit_at, ticket_id, _encode(event), event)]
        if self.rng.random() < P_DUPLICATE:
            out.append(Emission(emit_at, ticket_id, out[0].value, event, "duplicate"))
        if self.rng.random() < P_MALFORMED:
            bad = _malformed(self.rng.choice(MALFORMED_KINDS), event, f"{event['event_id']}-x")
            value = _encode(bad) if bad is not None else _encode(event)[: len(out[0].value) // 2]
            out.append(Emission(emit_at, ticket_id, value, bad, "malformed"))
        return out


def _malformed(kind: str, event: Mapping[str, Any], event_id: str) -> dict[str, Any] | None:
    """An invalid variant of `event` (None: the bytes will not even be JSON)."""
    if kind == "not_json":
        return None
    bad = {**event, "event_id": event_id}
    if kind == "unknown_type":
        bad["type"] = "ticket.merged"
    elif kind == "bad_priority":
        bad = {key: bad[key] for key in ("event_id", "ticket_id", "occurred_at")}
        bad |= {"type": "ticket.priority_changed", "priority": 7}
    else:  # naive_timestamp: "2026-03-02T09:00:00", no offset
        bad["occurred_at"] = str(event["occurred_at"])[:19]
    return bad


def _pick(rng: random.Random, mix: Mapping[Any, float]) -> Any:
    keys = sorted(mix)
    return rng.choices(keys, weights=[mix[k] for k in keys])[0]


def _priority_change(rng: random.Random, priority: int) -> int | None:
    """A downgrade (~5%, to a higher number) or an upgrade (~3%), or None."""
    roll = rng.random()
    if roll < P_DOWNGRADE and priority < 4:
        return rng.randint(priority + 1, 4)
    if P_DOWNGRADE <= roll < P_DOWNGRADE + P_UPGRADE and priority > 1:
        return rng.randint(1, priority - 1)
    return None


def _status(status: str) -> dict[str, Any]:
    return {"type": "ticket.status_changed", "status": status}
