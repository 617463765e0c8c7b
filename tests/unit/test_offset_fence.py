"""`faust_compat.OffsetFence`: the streams get each partition's records in order from its last seek.

faust's drain loop took a batch fetched before a rebalance's seek to the committed offset, handed
it to the streams after the seek, filled the offsets between as a "gap" and committed past
records no stream had processed. The fence drops such batches and asks for a seek back on a hole.
"""

from __future__ import annotations

from processor.worker.faust_compat import OffsetFence

TP = ("in", 1)


def _delivered(fence: OffsetFence, offsets: list[int]) -> list[bool | int]:
    return [fence.admit(TP, offset) for offset in offsets]


def test_records_that_follow_on_from_the_seek_are_delivered() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 101, 102]) == [True, True, True]
    assert fence.expected[TP] == 103


def test_a_record_after_a_hole_asks_for_a_seek_back_to_the_first_missing_one() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 140, 141]) == [True, 101, 101]  # a batch read ahead
    fence.seeked(TP, 101)  # the consumer's seek back
    assert _delivered(fence, [101, 102]) == [True, True]


def test_another_seek_after_a_hole_does_not_make_the_hole_acceptable() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert fence.admit(TP, 140) == 100
    fence.seeked(TP, 90)  # a rebalance seeks elsewhere before the seek back
    assert fence.admit(TP, 140) == 90


def test_records_before_the_expected_one_are_dropped_as_already_delivered() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 10)
    assert _delivered(fence, [10, 11, 10, 11, 12]) == [True, True, False, False, True]


def test_a_hole_still_there_after_the_seek_back_is_accepted() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 5)
    assert fence.admit(TP, 9) == 5
    fence.seeked(TP, 5)  # the consumer's seek back; the fetch from there starts at 9 again
    assert fence.admit(TP, 9) is True  # records 5-8 are not in the log (retention)
    assert fence.admit(TP, 10) is True


def test_a_seek_makes_records_fetched_before_it_stale() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    before = dict(fence.epochs)
    assert not fence.stale(TP, before)
    fence.seeked(TP, 100)  # a rebalance seeks the kept partition to its committed offset again
    assert fence.stale(TP, before)
    assert not fence.stale(("in", 2), before)


def test_a_revocation_makes_fetched_records_stale_and_forgets_the_position() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    before = dict(fence.epochs)
    fence.forget(TP)
    assert fence.stale(TP, before)
    assert fence.admit(TP, 250) is True  # unknown position: the next record is accepted


def test_without_a_committed_offset_the_first_record_is_accepted_and_nothing_goes_stale() -> None:
    fence = OffsetFence()
    before = dict(fence.epochs)
    fence.seeked(TP, None)  # aiokafka did not seek (nothing committed)
    assert not fence.stale(TP, before)
    assert _delivered(fence, [0, 1, 3]) == [True, True, 2]


def test_a_batch_fetched_before_a_seek_is_dropped_unless_it_starts_where_the_seek_went() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    since = dict(fence.epochs)
    assert not fence.drop_batch(TP, 100, since)  # no seek since the fetch
    fence.seeked(TP, 120)
    assert fence.drop_batch(TP, 100, since)  # read before the seek to 120
    assert not fence.drop_batch(TP, 120, since)  # what the seek fetches anyway


def test_a_batch_fetched_before_a_revocation_is_kept_when_nothing_was_committed() -> None:
    """Two workers start on an empty group: the first fetched records 0-10 of a partition, a
    rebalance revoked and gave it back, and no offset was committed, so no seek is made and
    nothing fetches 0-10 again: dropping them lost those records' alerts."""
    fence = OffsetFence()
    since = dict(fence.epochs)
    fence.forget(TP)  # revoked
    fence.seeked(TP, None)  # assigned again, nothing committed
    assert not fence.drop_batch(TP, 0, since)
    assert _delivered(fence, [0, 1, 2]) == [True, True, True]


def test_records_cleared_before_a_stream_took_them_are_delivered_again() -> None:
    """The CI failure (kill -9 five times): records admitted after the recovery's seek were
    cleared from the stream queue when flow control resumed; the fence expected the record
    after them, so the same records fetched again were dropped as already delivered."""
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 101, 102]) == [True, True, True]
    # flow control clears the queue: 100-102 never reached a stream
    assert fence.rewind(TP, 100)
    assert fence.admit(TP, 103) == 100  # the fetch goes on after them: a hole, seek back
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 101, 102, 103]) == [True, True, True, True]


def test_without_the_rewind_the_records_fetched_again_are_dropped() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 101]) == [True, True]
    assert _delivered(fence, [100, 101]) == [False, False]  # what the rewind is for


def test_a_rewind_goes_no_further_back_than_the_last_seek_nor_forward() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 101, 102]) == [True, True, True]
    assert fence.rewind(TP, 40)  # records from before the seek were in the queue too
    assert fence.expected[TP] == 100
    assert not fence.rewind(TP, 100)  # already there
    assert not fence.rewind(TP, 120)  # not admitted yet: nothing to read again
    assert fence.expected[TP] == 100


def test_a_rewind_of_a_partition_without_a_known_position_does_nothing() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 10)
    fence.forget(TP)  # revoked: its records are not wanted
    assert not fence.rewind(TP, 10)
    assert TP not in fence.expected


def test_a_record_being_handed_over_when_its_partition_is_rewound_is_withdrawn() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 100)
    assert _delivered(fence, [100, 101]) == [True, True]
    fence.handing(TP, 101)
    assert not fence.withdrawn(TP, 101)  # nothing happened meanwhile: it goes to the stream
    assert fence.rewind(TP, 100)  # 100 was cleared while 101 was on its way
    assert fence.withdrawn(TP, 101)  # it would overtake 100: it comes again after it
    assert not fence.withdrawn(("in", 2), 101)
    assert not fence.withdrawn(TP, 100)  # only the record being handed over


def test_a_record_being_handed_over_is_withdrawn_by_a_seek_or_a_revocation() -> None:
    fence = OffsetFence()
    fence.seeked(TP, 5)
    assert fence.admit(TP, 5) is True
    fence.handing(TP, 5)
    fence.seeked(TP, 3)
    assert fence.withdrawn(TP, 5)
    assert fence.admit(TP, 3) is True
    fence.handing(TP, 3)
    fence.forget(TP)
    assert fence.withdrawn(TP, 3)


def test_a_doomed_record_arriving_ahead_of_the_ones_it_follows_is_dropped_once() -> None:
    """A put into a full queue was waiting when flow control cleared it, then resumed: record
    105 lands ahead of 100-104, which come again; the copy of 105 fetched after them is kept."""
    fence = OffsetFence()
    fence.doom(TP, 105, 100)
    assert fence.arrived(TP, 98)  # taken before the clear: in order
    assert fence.arrived(("in", 2), 105)
    assert not fence.arrived(TP, 105)  # ahead of 100-104
    assert [fence.arrived(TP, o) for o in (100, 104, 105)] == [True, True, True]


def test_a_doom_ends_when_the_records_it_follows_come_first() -> None:
    """The clear cancelled the waiting put: 105 never landed, and 100 comes first."""
    fence = OffsetFence()
    fence.doom(TP, 105, 100)
    assert fence.arrived(TP, 100)
    assert fence.arrived(TP, 105)
    assert fence.doomed == {}
