"""`TickWatermarks`: a tick is held back by the lateness its partition's events showed lately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processor.runtime import TickWatermarks

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_on_time_events_let_the_watermark_follow_the_clock() -> None:
    marks = TickWatermarks(window=2 * S)
    marks.observe(0, T0, T0 + 0.1 * S)  # delivered 100 ms after it occurred
    # The old rule held the partition at 09:00:00 for 2 s; now it trails the clock by 100 ms.
    assert marks.on_tick(0, T0 + 0.5 * S, T0 + 0.6 * S) == T0 + 0.4 * S


def test_a_late_event_holds_its_partition_back_by_its_lateness_for_the_window() -> None:
    marks = TickWatermarks(window=2 * S)
    now = T0 + timedelta(hours=1)
    marks.observe(0, T0, now)  # a backfilled event, an hour late
    assert marks.on_tick(0, now, now) == T0
    assert marks.on_tick(0, now + 1.9 * S, now + 1.9 * S) == T0 + 1.9 * S
    assert marks.on_tick(1, now, now) == now  # another partition is not held
    assert marks.on_tick(0, now + 2 * S, now + 2 * S) == now + 2 * S  # window over


def test_a_smaller_lateness_read_later_outlives_a_larger_one() -> None:
    marks = TickWatermarks(window=2 * S)
    marks.observe(0, T0 - 60 * S, T0)  # 60 s late, read at T0
    marks.observe(0, T0 - 9 * S, T0 + S)  # 10 s late, read 1 s later
    assert marks.hold(0, T0 + 1.5 * S) == 60 * S
    assert marks.hold(0, T0 + 2.5 * S) == 10 * S  # the 60 s one expired, the 10 s one holds
    assert marks.hold(0, T0 + 3 * S) == timedelta(0)


def test_the_floor_holds_back_even_a_quiet_partition_and_future_events_hold_nothing() -> None:
    marks = TickWatermarks(window=2 * S, floor=0.3 * S)
    assert marks.on_tick(0, T0, T0) == T0 - 0.3 * S
    marks.observe(0, T0 + 5 * S, T0)  # occurred "in the future" (a clock ahead upstream)
    assert marks.hold(0, T0) == 0.3 * S


def test_forget_drops_partitions_no_longer_owned() -> None:
    marks = TickWatermarks(window=2 * S)
    marks.observe(3, T0, T0 + 60 * S)
    marks.on_tick(3, T0 + 60 * S, T0 + 60 * S)
    marks.forget({0})
    assert marks.watermark(3) is None
    assert marks.hold(3, T0 + 60 * S) == timedelta(0)


def test_late_events_never_hold_the_watermark_behind_the_newest_event_time_read() -> None:
    # Backdated creations (22 min late) among on-time responses: the log is in order up to
    # the newest response, so the watermark follows it, not the creations' lateness.
    marks = TickWatermarks(window=2 * S)
    now = T0 + timedelta(minutes=30)
    marks.observe(0, now - timedelta(minutes=22), now)
    marks.observe(0, now - 0.1 * S, now)
    assert marks.on_tick(0, now + 0.5 * S, now + 0.5 * S) == now - 0.1 * S
