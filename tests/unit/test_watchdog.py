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


def test_the_move_a_nudge_itself_makes_is_not_progress() -> None:
    """CI (kill -9 of a broker leader): the worker stopped processing; each re-seek moved the
    next offset to read up by one (faust's seek counts the record sought to as read), so the
    partition looked unstuck and the worker never exited for its supervisor to restart it."""
    watch = StallWatch(after=20)
    assert watch.observe(0, 235, 400, now=0) is None
    assert watch.observe(0, 235, 400, now=20) == 0
    watch.rebase(0, 236)  # after the re-seek
    assert watch.observe(0, 236, 400, now=40) == 1
    watch.rebase(0, 237)
    assert watch.observe(0, 237, 400, now=60) == 2
    assert watch.observe(0, 300, 400, now=61) is None  # real progress starts over
