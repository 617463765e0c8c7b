"""Watermark strategies: how far the runtime may raise alerts, per partition.

An alert for instant X of a ticket on partition P is raised once the watermark that judges P is
past X. Two strategies decide that watermark:

- `EventTimeWatermarks` (replay, report): from the events' own `occurred_at`, tolerating the
  disorder of real logs. Each partition (the `partition` of a line; lines without one form one
  stream) has its own watermark: the newest `occurred_at` read on it, held back by the allowed
  `lateness`. A lone event more than `max_skew` ahead of its partition does not move it unless
  the next event of the partition confirms the jump (a quiet weekend is real; a mistyped year is
  not); an unconfirmed one is *set aside* (reported; still applied to its own ticket). Without
  `partitions`, a ticket is judged by its own partition's watermark, which is exact when each
  ticket's events are on one partition (the input topic's contract). With `partitions=N`, every
  ticket is judged by the minimum over N partitions, and nothing is due until all N were seen.
- `TickWatermarks` (live worker): tick records carry the wall clock; a tick stamped ahead of the
  worker's own clock is clamped to it, and while events older than the tick are still flowing
  into a partition (a backlog or a backfill) its watermark holds at the newest event time read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["EventTimeWatermarks", "Late", "TickWatermarks", "Watermarks"]

NO_PARTITION = -1
"""The stream of lines that carry no `partition`."""


@dataclass(frozen=True, slots=True)
class Late:
    """An event set aside by the outlier guard: `token` is what the driver passed (a line)."""

    token: int
    at: datetime


@dataclass(slots=True)
class Observed:
    """What one event did to the watermarks: whether its partition's watermark (or with a
    shared watermark, every partition's) may have moved, and which events were set aside."""

    moved: bool = False
    set_aside: list[Late] = field(default_factory=list)


_MOVED, _STILL = Observed(True, []), Observed(False, [])
"""What `EventTimeWatermarks.observe` returns when nothing is set aside (most events): shared,
never changed (`observe` builds a new `Observed` for an event that sets one aside)."""


class Watermarks:
    """The interface the runtime uses; see the two strategies below."""

    shared = False
    """True when one watermark judges every partition (a move advances them all)."""

    def observe(self, partition: int, at: datetime, now: datetime, token: int = 0) -> Observed:
        raise NotImplementedError

    def watermark(self, partition: int) -> datetime | None:
        raise NotImplementedError


@dataclass(slots=True)
class _Stream:
    newest: datetime | None = None
    candidate: Late | None = None


class EventTimeWatermarks(Watermarks):
    def __init__(
        self,
        *,
        lateness: timedelta = timedelta(0),
        max_skew: timedelta = timedelta(days=1),
        partitions: int | None = None,
    ) -> None:
        self.lateness, self.max_skew, self.partitions = lateness, max_skew, partitions
        self.shared = partitions is not None
        self._streams: dict[int, _Stream] = {}

    def observe(self, partition: int, at: datetime, now: datetime, token: int = 0) -> Observed:
        stream = self._streams.get(partition)
        if stream is None:
            stream = self._streams[partition] = _Stream()
        newest = stream.newest
        if stream.candidate is None and newest is not None and at <= newest + self.max_skew:
            if at <= newest:  # the common case: nothing set aside, no move
                return _STILL
            stream.newest = at
            return _MOVED if self._moved() else _STILL
        out = Observed()
        baseline = newest if newest is not None else self._others_newest()
        if baseline is None or at <= baseline + self.max_skew:
            self._set_aside(stream, out)
            if stream.newest is None or at > stream.newest:
                stream.newest = at
                out.moved = self._moved()
        elif stream.candidate is not None and abs(at - stream.candidate.at) <= self.max_skew:
            stream.newest = max(at, stream.candidate.at)  # the jump is confirmed
            stream.candidate = None
            out.moved = self._moved()
        else:
            self._set_aside(stream, out)
            stream.candidate = Late(token, at)
        return out

    def watermark(self, partition: int) -> datetime | None:
        if self.partitions is not None:
            return self._global()
        stream = self._streams.get(partition)
        if stream is None or stream.newest is None:
            return None
        return stream.newest - self.lateness

    def finish(self) -> tuple[datetime | None, list[Late]]:
        """End of input: the largest `occurred_at` not set aside, and what is set aside now."""
        out = Observed()
        for stream in self._streams.values():
            self._set_aside(stream, out)
        newest = [s.newest for s in self._streams.values() if s.newest is not None]
        return (max(newest) if newest else None), out.set_aside

    def _moved(self) -> bool:
        return self.partitions is None or self._global() is not None

    def _global(self) -> datetime | None:
        assert self.partitions is not None
        newest = [s.newest for s in self._streams.values() if s.newest is not None]
        if len(newest) < self.partitions:
            return None
        return min(newest) - self.lateness

    def _others_newest(self) -> datetime | None:
        newest = [s.newest for s in self._streams.values() if s.newest is not None]
        return max(newest) if newest else None

    @staticmethod
    def _set_aside(stream: _Stream, out: Observed) -> None:
        if stream.candidate is not None:
            out.set_aside.append(stream.candidate)
            stream.candidate = None


class TickWatermarks(Watermarks):
    def __init__(self, backfill_quiet: timedelta = timedelta(seconds=2)) -> None:
        self.backfill_quiet = backfill_quiet
        self._flow: dict[int, tuple[datetime, datetime]] = {}
        """partition -> (newest occurred_at read, wall-clock time of the last event read)"""
        self._current: dict[int, datetime] = {}

    def observe(self, partition: int, at: datetime, now: datetime, token: int = 0) -> Observed:
        newest = self._flow.get(partition, (at, now))[0]
        self._flow[partition] = (max(newest, at), now)
        return Observed()  # events never raise other tickets' alerts live: ticks do

    def on_tick(self, partition: int, tick: datetime, now: datetime) -> datetime:
        """The watermark a tick stamped `tick` sets on `partition`, read at wall time `now`."""
        tick = min(tick, now)  # a tick from a clock ahead of ours raises nothing early
        flow = self._flow.get(partition)
        if flow is not None and now - flow[1] < self.backfill_quiet:
            tick = min(tick, flow[0])
        self._current[partition] = tick
        return tick

    def watermark(self, partition: int) -> datetime | None:
        return self._current.get(partition)

    def forget(self, partitions: set[int]) -> None:
        """Drop what is known of partitions this worker no longer owns."""
        for partition in list(self._current):
            if partition not in partitions:
                del self._current[partition]
                self._flow.pop(partition, None)
