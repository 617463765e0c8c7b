"""The one place that reads faust's (and aiokafka's) private consumer state, with a start-up check.

faust-streaming has no public API for "the next offset a stream will read" or "is this partition
paused", which the consumer-lag metric and the stall watchdog need. Its `Consumer` keeps both in
private attributes; this module alone touches them, through typed accessors. `check_consumer_class`
runs when the app is created, so a faust upgrade that drops one of them stops the worker at
start-up with one line naming the attribute, instead of a traceback in a timer later on.
pyproject.toml pins faust-streaming to the minor version these attributes were checked against.

`FairConsumer` (installed by `install_fair_consumer`) rotates aiokafka's held fetch results so
that each call serves the next partition first (see `rotate_held`); `fetch_state` describes a
partition's fetch state for the stall log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Set
from importlib.metadata import version
from typing import Any, NamedTuple

import faust
import faust.transport
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer

__all__ = [
    "PRIVATE_ATTRIBUTES",
    "FairConsumer",
    "FaustCompatError",
    "Position",
    "check_app",
    "check_consumer_class",
    "fetch_state",
    "install_fair_consumer",
    "is_paused",
    "positions",
]

# name -> what it holds, on faust.transport.consumer.Consumer (faust-streaming 0.15)
PRIVATE_ATTRIBUTES: dict[str, str] = {
    "_read_offset": "TP -> offset last handed to the streams (or None)",
    "_committed_offset": "TP -> offset last committed (or None)",
    "_paused_partitions": "set of paused TPs",
}


class FaustCompatError(RuntimeError):
    """The installed faust no longer has a private attribute the worker relies on."""


class Position(NamedTuple):
    """An assigned input partition: the next offset the streams read, and the high watermark."""

    tp: Any
    position: int
    high: int


def _missing(name: str, where: str) -> FaustCompatError:
    return FaustCompatError(
        f"faust-streaming {version('faust-streaming')}: {where} has no attribute {name!r} "
        "(processor/worker/faust_compat.py relies on it; use the faust-streaming version "
        "pinned in pyproject.toml)"
    )


def check_consumer_class(cls: type) -> None:
    """Raise FaustCompatError naming the first private attribute `cls` does not declare."""
    declared: set[str] = set()
    for klass in cls.__mro__:
        declared.update(getattr(klass, "__annotations__", {}))
    for name in PRIVATE_ATTRIBUTES:
        if name not in declared:
            raise _missing(name, f"consumer class {cls.__module__}.{cls.__qualname__}")


def check_app(app: faust.App) -> None:
    """The start-up check for the consumer class of the app's broker transport."""
    transport = faust.transport.by_url(app.conf.broker[0])
    check_consumer_class(transport.Consumer)


def _private(consumer: Any, name: str) -> Any:
    value = getattr(consumer, name, _MISSING)
    if value is _MISSING:
        raise _missing(name, f"consumer {type(consumer).__qualname__}")
    return value


_MISSING = object()


def _offsets(consumer: Any, name: str) -> Mapping[Any, int | None]:
    value = _private(consumer, name)
    if not isinstance(value, Mapping):
        raise _missing(name, f"consumer {type(consumer).__qualname__} (as a mapping)")
    return value


def next_offset(consumer: Any, tp: Any) -> int:
    """The next offset of `tp` the streams will read: one after the last handed to them, else
    the committed offset, else 0. `.get` keeps faust's defaultdicts free of new keys."""
    read = _offsets(consumer, "_read_offset").get(tp)
    if read is not None:
        return int(read) + 1
    return int(_offsets(consumer, "_committed_offset").get(tp) or 0)


def is_paused(consumer: Any, tp: Any) -> bool:
    paused = _private(consumer, "_paused_partitions")
    if not isinstance(paused, Set):
        raise _missing("_paused_partitions", f"consumer {type(consumer).__qualname__} (as a set)")
    return tp in paused


def positions(consumer: Any, topic: str) -> list[Position]:
    """(tp, next offset to read, high watermark) of each assigned partition of `topic`."""
    out = []
    for tp in consumer.assignment():
        if tp.topic != topic:
            continue
        high = consumer.highwater(tp)
        if high is None:
            continue
        out.append(Position(tp, next_offset(consumer, tp), int(high)))
    return out


def fetch_state(consumer: Any, tp: Any) -> str:
    """One line on why `tp` may not be read, for the stall log: faust's view (active, buffered
    by flow control) and aiokafka's (position, leader in its metadata, records held)."""
    parts = [
        f"active={tp in (getattr(consumer, '_active_partitions', None) or ())}",
        f"buffered={tp in getattr(consumer, '_buffered_partitions', ())}",
    ]
    try:
        inner = consumer._thread._consumer
        fetcher = inner._fetcher
        state = inner._subscription.subscription.assignment.state_value(tp)
        leader = inner._client.cluster.leader_for_partition(tp)
        parts += [
            f"position={state.position if state.has_valid_position else None}",
            f"paused={state.paused}",
            f"leader={leader}",
            f"held={tp in fetcher._records}",
            f"in_flight={sorted(fetcher._in_flight)}",
        ]
    except Exception as exc:  # diagnostics only: never fail the watchdog
        parts.append(f"aiokafka state unknown ({type(exc).__name__})")
    return " ".join(parts)


def rotate_held(held: Any) -> None:
    """Move the first partition of aiokafka's fetched-but-undelivered records to the end.

    aiokafka's `Fetcher.fetched_records(max_records=M)` takes up to M records from its held
    fetch results in insertion order and stops: a partition whose fetch result is large (up to
    `consumer_max_fetch_size`, a backlog after a failover) is at the head on every call, and
    the partitions behind it get nothing until it is used up (input partition 0 read nothing
    for 30 s after its leader was killed while partition 3's backlog was drained). Rotating
    the head before each call serves the partitions in turn, M records each."""
    if isinstance(held, OrderedDict) and len(held) > 1:
        held.move_to_end(next(iter(held)))


class _FairConsumerThread(AIOKafkaConsumerThread):
    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: Any,
        timeout: float | None = None,  # noqa: ASYNC109 (faust's signature)
        max_records: int | None = None,
    ) -> Any:
        rotate_held(_private(consumer._fetcher, "_records"))  # in the consumer's own thread
        return await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )


class FairConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, delivering held records of the partitions in turn."""

    def _new_consumer_thread(self) -> Any:
        return _FairConsumerThread(self, loop=self.loop, beacon=self.beacon)


def install_fair_consumer(app: faust.App) -> None:
    """Make the app's consumer a `FairConsumer` (call before the app starts); it needs
    `broker_max_poll_records` set, or every call drains everything held anyway."""
    transport: Any = app.transport
    if not issubclass(FairConsumer, transport.Consumer):
        raise _missing("Consumer", f"transport {type(transport).__qualname__} (aiokafka)")
    transport.Consumer = FairConsumer
