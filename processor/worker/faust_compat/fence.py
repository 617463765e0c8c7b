"""`OffsetFence`: what keeps each input partition's records in log order from its last seek."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["OffsetFence"]


class OffsetFence:
    """Per partition: the next offset the streams must get, and a seek epoch.

    faust hands records to the streams without checking that they follow on from the last seek
    (`Consumer._drain_messages`). After a rebalance, `Recovery._resume_streams` resumes the kept
    partitions while the flow is still on (from the changelog recovery): records read during
    its seek to the committed offset C go into the stream buffer, and `flow_control.resume()`
    clears them from it right after. The rest of that batch follows the seek; faust takes the
    offsets from C+1 up to it for a gap (`_add_gap`, meant for compacted topics) and `C` itself
    passes `_new_offset`'s `min(acked) - committed > 1` check, and when the records come again
    they are dropped as already read: the next commit goes past records no stream processed.
    With the fence, a record after a hole asks for a seek back to the first missing offset
    (`admit`), and a batch fetched before a seek and not starting where it went is dropped
    (`stale`). A hole still there after the seek back is accepted (records gone from the log,
    transaction markers). Changelog partitions (compacted) are not fenced.

    A record the fence admitted can still be lost on its way to the streams: flow control
    clears the stream queues when it resumes (at the end of every recovery), and a batch of
    records admitted after the recovery's seek and queued before that clear was gone while the
    fence expected the record after it: the same records fetched again were dropped as already
    delivered, and a tick behind them raised alerts the lost events would have prevented (CI:
    kill -9 five times, two alerts replay does not expect). `rewind` moves the position back to
    the first record cleared; a record whose delivery was running when its partition was rewound
    or seeked is `withdrawn` (it comes again from the new position). One whose delivery was
    already waiting for room in a full queue lands in it right after the clear, ahead of the
    records it follows in the log: it is `doomed`, and dropped when it reaches the agent
    (`arrived`); its copy fetched again comes in order."""

    def __init__(self) -> None:
        self.expected: dict[Any, int] = {}
        self.epochs: dict[Any, int] = {}
        self.holes: dict[Any, int] = {}  # first missing offset, a seek back asked for
        self.rewound: dict[Any, int] = {}  # seeked back there: a hole there now is real
        self.sought: dict[Any, int] = {}  # where the last seek went
        self._handed: tuple[Any, int, int] | None = None  # the record being delivered, epoch
        self.doomed: dict[Any, tuple[int, int]] = {}  # tp -> (late record, must come first)

    def seeked(self, tp: Any, offset: int | None) -> None:
        """A seek of `tp` to `offset`; None: no seek was made (nothing committed), so the
        position is unknown and the next record is accepted."""
        if offset is not None and self.holes.pop(tp, None) == offset:
            self.rewound[tp] = offset
        else:
            self.holes.pop(tp, None)
            self.rewound.pop(tp, None)
        if offset is None:
            self.expected.pop(tp, None)
            self.sought.pop(tp, None)
            return
        self.epochs[tp] = self.epochs.get(tp, 0) + 1
        self.expected[tp] = self.sought[tp] = offset

    def forget(self, tp: Any) -> None:
        self.expected.pop(tp, None)
        self.sought.pop(tp, None)
        self.holes.pop(tp, None)
        self.rewound.pop(tp, None)
        self.epochs[tp] = self.epochs.get(tp, 0) + 1

    def stale(self, tp: Any, since: Mapping[Any, int]) -> bool:
        """Was `tp` seeked (or revoked) after the epochs snapshot `since` was taken?"""
        return self.epochs.get(tp, 0) != since.get(tp, 0)

    def drop_batch(self, tp: Any, first: int, since: Mapping[Any, int]) -> bool:
        """Drop a batch of `tp` starting at `first`, fetched when the epochs were `since`? Only
        if `tp` was seeked since and the batch does not start where that seek went (one that
        does is what the seek fetches anyway). With no known position (nothing committed: no
        seek was made) the batch is kept: nothing would fetch it again."""
        want = self.expected.get(tp)
        return want is not None and self.stale(tp, since) and first != want

    def admit(self, tp: Any, offset: int) -> bool | int:
        """True: deliver; False: drop (already delivered); an int: drop and seek back there."""
        want = self.expected.get(tp)
        if want is None or offset == want or (offset > want and self.rewound.get(tp) == want):
            self.expected[tp] = offset + 1
            self.rewound.pop(tp, None)
            return True
        if offset < want:
            return False
        self.holes[tp] = want
        return want

    def rewind(self, tp: Any, offset: int) -> bool:
        """Records of `tp` from `offset` on were admitted and then lost before a stream took
        them: expect `offset` again (a later record is a hole, a seek back fetches them again).
        Never behind the last seek (the records before it are not wanted). True if it moved."""
        want = self.expected.get(tp)
        target = max(offset, self.sought.get(tp, offset))
        if want is None or target >= want:
            return False
        self.expected[tp] = target
        self.holes.pop(tp, None)
        self.rewound.pop(tp, None)
        self.epochs[tp] = self.epochs.get(tp, 0) + 1
        return True

    def handing(self, tp: Any, offset: int) -> None:
        """The record just admitted is being handed to faust (one at a time)."""
        self._handed = (tp, offset, self.epochs.get(tp, 0))

    def withdrawn(self, tp: Any, offset: int) -> bool:
        """Was the record being handed to faust overtaken by a rewind, seek or revocation of its
        partition before it reached a stream? Then it must not reach one now: it comes again."""
        handed = self._handed
        if handed is None or handed[0] != tp or handed[1] != offset:
            return False
        return self.epochs.get(tp, 0) != handed[2]

    def doom(self, tp: Any, offset: int, before: int) -> None:
        """The record (`tp`, `offset`) may reach a stream ahead of `before`..`offset - 1`, which
        come again: drop it if it arrives before them (`arrived`)."""
        self.doomed[tp] = (offset, before)

    def arrived(self, tp: Any, offset: int) -> bool:
        """A record reached the agent: False for a doomed one arriving ahead of the records it
        follows (dropped: its copy comes again after them). The doom ends when those start."""
        doomed = self.doomed.get(tp) if self.doomed else None
        if doomed is None:
            return True
        late, before = doomed
        if offset == late:
            del self.doomed[tp]
            return False
        if offset >= before:  # the records it follows come: it was never queued
            del self.doomed[tp]
        return True
