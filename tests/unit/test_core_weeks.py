"""The interval helpers of the weekly calendar (processor/domain/_weeks.py) and the calendar's
argument checks, at their edges (found with mutation testing, docs/mutation.md). Intervals are
half-open [start, end) in seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processor.domain._weeks import clip, subtract, union
from processor.domain.calendar import AlwaysOpen, WeeklyCalendar, basic_calendar


def test_union_drops_empty_intervals_and_merges_touching_ones() -> None:
    assert union([(5, 5), (1, 2)]) == [(1, 2)]  # [5, 5) is empty
    assert union([(2, 3), (1, 2)]) == [(1, 3)]  # [1, 2) and [2, 3) touch at 2
    assert union([(1, 2), (3, 4)]) == [(1, 2), (3, 4)]


def test_subtract_goes_past_holes_that_end_before_and_leaves_no_empty_rest() -> None:
    # The hole [0, 1) ends before 2: skipped, and the next hole [3, 4) still cuts.
    assert subtract([(2, 5)], [(0, 1), (3, 4)]) == [(2, 3), (4, 5)]
    # A hole ending exactly at the interval's end leaves [2, 4), not also an empty [5, 5).
    assert subtract([(2, 5)], [(4, 5)]) == [(2, 4)]
    assert subtract([(2, 5)], [(0, 2)]) == [(2, 5)]  # touching at the start: nothing cut


def test_clip_keeps_only_what_lies_in_low_high() -> None:
    assert clip([(0, 1), (5, 6)], 2, 4) == []  # wholly before, wholly after
    assert clip([(4, 6)], 2, 4) == []  # starts at high: [4, 4) is empty
    assert clip([(0, 2)], 2, 4) == []  # ends at low
    assert clip([(1, 3), (3, 5)], 2, 4) == [(2, 3), (3, 4)]


def test_a_calendar_needs_windows_of_the_window_type() -> None:
    with pytest.raises(ValueError) as empty:
        WeeklyCalendar("UTC", [])
    assert str(empty.value) == "a weekly calendar needs at least one window"
    with pytest.raises(TypeError) as wrong:
        WeeklyCalendar("UTC", ["mon 09:00"])  # type: ignore[list-item]
    assert str(wrong.value) == "windows must be WeeklyWindow, got str"


@pytest.mark.parametrize("cal", [AlwaysOpen(), basic_calendar("UTC")])
def test_between_names_a_naive_start(cal: AlwaysOpen | WeeklyCalendar) -> None:
    naive = datetime(2026, 1, 7, 12)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError) as caught:
        cal.between(naive, datetime(2026, 1, 8, tzinfo=UTC))
    assert str(caught.value) == "start must be timezone-aware, got naive 2026-01-07T12:00:00"


def test_subtract_leaves_no_empty_piece_before_a_hole_at_the_cursor() -> None:
    assert subtract([(2, 5)], [(2, 3)]) == [(3, 5)]  # not also the empty [2, 2)
