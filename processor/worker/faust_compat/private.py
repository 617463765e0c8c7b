"""faust's private consumer attributes and current event, behind typed accessors, with the
start-up check that they are still there (`check_app`), and table writes to the local store only.

faust-streaming has no public API for "the next offset a stream will read" or "is this partition
paused", which the consumer-lag metric and the stall watchdog need. Its `Consumer` keeps both in
private attributes; only this package touches them. Nor for "make this table write in the context
of that event" (a batch from `Stream.take_events` has no current event, and a table write takes
its changelog partition from the current event): `in_event(event)` sets faust's private
`faust.streams._current_event` for the duration. Nor for "write this key to the table's local
store only" (the changelog written separately, a batch at a time: `table_writes`): `store_put` /
`store_delete` / `store_get` call the store's own `_set` / `_del` / `_get` (raw bytes; the tables
that use them have raw serializers).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Set
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import version
from typing import Any, NamedTuple

import faust
import faust.streams
import faust.transport

__all__ = [
    "PRIVATE_ATTRIBUTES",
    "FaustCompatError",
    "Position",
    "check_app",
    "check_consumer_class",
    "check_event_context",
    "current_partition",
    "in_event",
    "is_paused",
    "missing",
    "next_offset",
    "positions",
    "private",
    "store_delete",
    "store_get",
    "store_put",
]

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


def missing(name: str, where: str) -> FaustCompatError:
    return FaustCompatError(
        f"faust-streaming {version('faust-streaming')}: {where} has no attribute {name!r} "
        "(processor/worker/faust_compat relies on it; use the faust-streaming version "
        "pinned in pyproject.toml)"
    )


def check_consumer_class(cls: type) -> None:
    """Raise FaustCompatError naming the first private attribute `cls` does not declare."""
    declared: set[str] = set()
    for klass in cls.__mro__:
        declared.update(getattr(klass, "__annotations__", {}))
    for name in PRIVATE_ATTRIBUTES:
        if name not in declared:
            raise missing(name, f"consumer class {cls.__module__}.{cls.__qualname__}")


def check_app(app: faust.App) -> None:
    """The start-up check for the consumer class of the app's broker transport."""
    transport = faust.transport.by_url(app.conf.broker[0])
    check_consumer_class(transport.Consumer)
    check_event_context()


def check_event_context() -> None:
    """Raise FaustCompatError unless faust.streams keeps the current event in a ContextVar."""
    if not isinstance(getattr(faust.streams, "_current_event", None), ContextVar):
        raise missing("_current_event", "module faust.streams (as a ContextVar)")


@contextmanager
def in_event(event: Any) -> Iterator[None]:
    """Make `event` faust's current event (table writes go to its partition) meanwhile."""
    var: ContextVar[Any] = faust.streams._current_event
    token = var.set(weakref.ref(event))
    try:
        yield
    finally:
        var.reset(token)


def current_partition() -> int:
    """The partition of the event being handled (the one `in_event` set, or faust's own)."""
    event = faust.streams.current_event()
    if event is None:
        raise RuntimeError("table write outside of a stream event")
    return int(event.message.partition)


def store_get(store: Any, key: bytes) -> bytes | None:
    """`key`'s value in a table's local store (RocksDB: the current event's partition first)."""
    get = getattr(store, "_get", None)
    value = store.get(key) if get is None else get(key)
    return None if value is None else bytes(value)


def store_put(store: Any, key: bytes, value: bytes) -> None:
    """Write `key` to a table's local store only (RocksDB: the current event's partition)."""
    put = getattr(store, "_set", None)
    if put is None:  # the memory store is a plain mapping of raw keys
        store[key] = value
    else:
        put(key, value)


def store_delete(store: Any, key: bytes) -> None:
    """Delete `key` from a table's local store only."""
    delete = getattr(store, "_del", None)
    if delete is None:
        store.pop(key, None)
    else:
        delete(key)


def private(consumer: Any, name: str) -> Any:
    value = getattr(consumer, name, _MISSING)
    if value is _MISSING:
        raise missing(name, f"consumer {type(consumer).__qualname__}")
    return value


_MISSING = object()


def _offsets(consumer: Any, name: str) -> Mapping[Any, int | None]:
    value = private(consumer, name)
    if not isinstance(value, Mapping):
        raise missing(name, f"consumer {type(consumer).__qualname__} (as a mapping)")
    return value


def next_offset(consumer: Any, tp: Any) -> int:
    """The next offset of `tp` the streams will read: one after the last handed to them, else
    the committed offset, else 0. `.get` keeps faust's defaultdicts free of new keys."""
    read = _offsets(consumer, "_read_offset").get(tp)
    if read is not None:
        return int(read) + 1
    return int(_offsets(consumer, "_committed_offset").get(tp) or 0)


def is_paused(consumer: Any, tp: Any) -> bool:
    paused = private(consumer, "_paused_partitions")
    if not isinstance(paused, Set):
        raise missing("_paused_partitions", f"consumer {type(consumer).__qualname__} (as a set)")
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
