"""Input events on `helpdesk.ticket-events` (DESIGN section 2).

Known fields are validated strictly (no string-to-int coercion, timestamps must carry an offset);
unknown extra fields are ignored because helpdesks add their own. `parse_event` turns raw bytes into
an event or an `InvalidEvent` with a bounded `reason` (used as a metric label and a DLQ header) and
a message a helpdesk engineer can act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from processor.domain.constants import Status, Tier
from processor.domain.instants import INSTANT_PATTERN, check_zone, parse_instant, to_utc
from processor.domain.quoting import quote

__all__ = [
    "MAX_EVENT_BYTES",
    "AgentResponded",
    "CustomerReplied",
    "Event",
    "InvalidEvent",
    "PriorityChanged",
    "StatusChanged",
    "TicketCreated",
    "Tier",
    "parse_event",
]

MAX_EVENT_BYTES = 64 * 1024
"""Largest accepted event value; larger ones are invalid (`oversized`)."""

Priority = Annotated[int, Field(ge=1, le=4)]


def _instant(value: object) -> datetime:
    """A JSON string in RFC 3339 form (see `processor.domain.instants`), as a UTC datetime."""
    if isinstance(value, str):
        return parse_instant(value)
    if isinstance(value, datetime):  # built in Python, not read from JSON
        return to_utc(value)
    raise ValueError(f"must be a string, an RFC 3339 date-time with an offset, got {quote(value)}")


UtcDatetime = Annotated[
    datetime, BeforeValidator(_instant), Field(json_schema_extra={"pattern": INSTANT_PATTERN})
]
ZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_zone)]
TicketId = Annotated[str, Field(min_length=1, max_length=128)]
EventId = Annotated[str, Field(min_length=1, max_length=256)]
ShortText = Annotated[str, Field(max_length=1024)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 code, upper case (e.g. `FR`)."""


class _EventBase(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    event_id: EventId
    ticket_id: TicketId
    occurred_at: UtcDatetime


class TicketCreated(_EventBase):
    """A customer submitted a request: the SLA clock starts (subject to the calendar)."""

    type: Literal["ticket.created"] = "ticket.created"
    customer_id: Annotated[str, Field(min_length=1, max_length=128)]
    tier: Tier
    priority: Priority
    timezone: ZoneName = "UTC"
    country: Country | None = None


class AgentResponded(_EventBase):
    """An agent wrote on the ticket; only a public reply counts as the first response."""

    type: Literal["ticket.agent_responded"] = "ticket.agent_responded"
    agent_id: ShortText | None = None
    public: bool = True


class CustomerReplied(_EventBase):
    """The customer wrote on the ticket (a public reply unless `public` is false)."""

    type: Literal["ticket.customer_replied"] = "ticket.customer_replied"
    author_id: ShortText | None = None
    public: bool = True


class PriorityChanged(_EventBase):
    """The vendor changed the priority; the target of the new priority applies."""

    type: Literal["ticket.priority_changed"] = "ticket.priority_changed"
    priority: Priority
    reason: ShortText | None = None


class StatusChanged(_EventBase):
    """The ticket's status changed; `solved` and `closed` stop the first-response clock."""

    type: Literal["ticket.status_changed"] = "ticket.status_changed"
    status: Status


Event = Annotated[
    TicketCreated | AgentResponded | CustomerReplied | PriorityChanged | StatusChanged,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES = (
    "ticket.created",
    "ticket.agent_responded",
    "ticket.customer_replied",
    "ticket.priority_changed",
    "ticket.status_changed",
)


class InvalidEvent(ValueError):
    """Input that is not a valid event. `reason` is one of a small fixed set (a metric label)."""

    REASONS = ("oversized", "not_utf8", "not_json", "unknown_type", "invalid_field", "bad_key")

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_event(raw: bytes | str, max_bytes: int = MAX_EVENT_BYTES) -> Event:
    """Decode and validate one event value, or raise `InvalidEvent`."""
    if len(raw) > max_bytes:
        raise InvalidEvent("oversized", f"event is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        return _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise _classify(exc, raw) from None


def _classify(exc: ValidationError, raw: bytes | str) -> InvalidEvent:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        if isinstance(raw, bytes) and not _is_utf8(raw):
            return InvalidEvent("not_utf8", "event is not valid UTF-8")
        text = str(first.get("ctx", {}).get("error", first["msg"]))
        return InvalidEvent("not_json", f"not valid JSON: {text}")
    if kind == "dict_type":
        return InvalidEvent("not_json", "event must be a JSON object")
    if kind == "union_tag_not_found":
        return InvalidEvent(
            "unknown_type", f"missing field 'type' (one of {', '.join(EVENT_TYPES)})"
        )
    if kind == "union_tag_invalid":
        return InvalidEvent("unknown_type", f"field 'type' must be one of {', '.join(EVENT_TYPES)}")
    return InvalidEvent("invalid_field", "; ".join(_describe(e) for e in errors[:5]))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _describe(error: object) -> str:
    assert isinstance(error, dict)
    loc = [str(p) for p in error["loc"]]
    # The first element of the location is the union tag (the event type): drop it.
    where = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
    return f"{where}: {error['msg']}"
