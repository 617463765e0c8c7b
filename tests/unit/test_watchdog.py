"""StallWatch: a partition with waiting records whose position does not move is reported."""

from processor.worker.watchdog import StallWatch


def test_moving_or_idle_partitions_are_never_stalled() -> None:
    watch = StallWatch(after=20)
    assert watch.observe(0, 10, 50, now=0) is None
    assert watch.observe(0, 20, 50, now=30) is None  # moved
    assert watch.observe(1, 50, 50, now=0) is None
    assert watch.observe(1, 50, 50, now=100) is None  # nothing waiting


def test_a_stuck_partition_is_reported_with_the_number_of_earlier_nudges() -> None:
    watch = StallWatch(after=20)
    assert watch.observe(3, 611, 4400, now=0) is None
    assert watch.observe(3, 611, 4400, now=19) is None
    assert watch.observe(3, 611, 4400, now=20) == 0
    assert watch.observe(3, 611, 4400, now=30) is None  # the clock restarts after a nudge
    assert watch.observe(3, 611, 4400, now=40) == 1
    watch.reset()
    assert watch.observe(3, 611, 4400, now=41) is None
