"""Stall detection for input partitions.

faust-streaming with aiokafka can leave a partition assigned but never fetched after a rebalance
(faust-streaming issues #175, #629): its records are never read and its tickets never alerted.
`StallWatch` notices a partition whose read position has not moved for `after` seconds while
records are waiting; the worker then logs it and re-seeks the partition (which makes aiokafka
fetch it again), and gives up (exits, for the supervisor to restart it) if that does not help.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StallWatch"]


@dataclass
class _Seen:
    position: int
    since: float
    nudges: int = 0


class StallWatch:
    def __init__(self, after: float = 20.0) -> None:
        self.after = after
        self._seen: dict[int, _Seen] = {}

    def reset(self) -> None:
        """Forget everything (call after a rebalance: positions start over)."""
        self._seen.clear()

    def rebase(self, partition: int, position: int) -> None:
        """The position a nudge itself moved the partition to (faust's seek counts the record
        it seeks to as read, so the next offset to read goes up by one): not progress, the
        nudges so far stand."""
        seen = self._seen.get(partition)
        if seen is not None:
            seen.position = position

    def observe(self, partition: int, position: int, highwater: int, now: float) -> int | None:
        """Record a partition's read position; returns how many times it was already nudged
        when it is stalled (records waiting, position unchanged for `after` s), else None."""
        seen = self._seen.get(partition)
        if seen is None or seen.position != position or highwater <= position:
            self._seen[partition] = _Seen(position, now)
            return None
        if now - seen.since < self.after:
            return None
        nudges = seen.nudges
        seen.nudges += 1
        seen.since = now
        return nudges
