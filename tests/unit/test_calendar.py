"""Worked examples for the business-time calendars. Each test shows its arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from processor.domain.calendar import (
    BASIC_WINDOW,
    AlwaysOpen,
    BusinessCalendar,
    WeeklyCalendar,
    WeeklyWindow,
    basic_calendar,
)

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
H, M = timedelta(hours=1), timedelta(minutes=1)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def ny(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=NY)


# --- Basic (Mon 00:01 -> Fri 23:59 local) --------------------------------------------------------


def test_basic_created_on_saturday_starts_monday() -> None:
    cal = basic_calendar("America/New_York")
    created = ny(2026, 1, 10, 10, 0)  # Saturday 10:00 EST
    # Opens Mon 2026-01-12 00:01 EST = 05:01Z; +2h business -> Mon 07:01Z.
    assert cal.next_open(created) == utc(2026, 1, 12, 5, 1)
    assert cal.add(created, 2 * H) == utc(2026, 1, 12, 7, 1)
    assert cal.between(created, utc(2026, 1, 12, 7, 1)) == 2 * H


def test_basic_friday_evening_new_york() -> None:
    cal = basic_calendar("America/New_York")
    created = ny(2026, 1, 9, 23, 0)  # Friday 23:00 EST = Sat 04:00Z
    # 59 min until Fri 23:59 EST (04:59Z), the other 61 min from Mon 00:01 EST (05:01Z) -> 06:02Z.
    deadline = cal.add(created, 2 * H)
    assert deadline == utc(2026, 1, 12, 6, 2)
    assert cal.between(created, ny(2026, 1, 9, 23, 59)) == 59 * M
    assert cal.between(created, deadline) == 2 * H


def test_basic_monday_just_after_midnight() -> None:
    cal = basic_calendar("America/New_York")
    created = ny(2026, 1, 12, 0, 0, 30)  # Mon 00:00:30 EST: 30 s before opening
    assert not cal.is_open(created)
    assert cal.next_open(created) == utc(2026, 1, 12, 5, 1)  # 00:01 EST
    # 00:01 + 1h -> 01:01 EST = 06:01Z; the 30 s before 00:01 do not count.
    assert cal.add(created, H) == utc(2026, 1, 12, 6, 1)
    assert cal.between(created, ny(2026, 1, 12, 0, 2)) == M


def test_window_is_half_open() -> None:
    cal = basic_calendar("America/New_York")
    assert cal.is_open(ny(2026, 1, 12, 0, 1))
    assert not cal.is_open(ny(2026, 1, 12, 0, 0, 59, 999999))
    assert cal.is_open(ny(2026, 1, 16, 23, 58, 59, 999999))
    assert not cal.is_open(ny(2026, 1, 16, 23, 59))


def test_add_lands_at_window_end_when_target_is_exhausted_there() -> None:
    cal = basic_calendar("UTC")
    # Fri 22:59Z + 1h -> exactly Fri 23:59Z (the close), not Mon 00:01Z.
    assert cal.add(utc(2026, 1, 9, 22, 59), H) == utc(2026, 1, 9, 23, 59)


def test_add_zero_is_next_open() -> None:
    cal = basic_calendar("UTC")
    open_at = datetime(2026, 1, 7, 13, 0, tzinfo=PARIS)  # Wed 13:00 CET, open
    assert cal.add(open_at, timedelta(0)) == utc(2026, 1, 7, 12, 0)
    assert cal.add(utc(2026, 1, 10), timedelta(0)) == utc(2026, 1, 12, 0, 1)  # Sat -> Mon 00:01


def test_between_is_zero_when_end_not_after_start() -> None:
    cal = basic_calendar("UTC")
    assert cal.between(utc(2026, 1, 7), utc(2026, 1, 7)) == timedelta(0)
    assert cal.between(utc(2026, 1, 7), utc(2026, 1, 6)) == timedelta(0)


def test_results_are_utc() -> None:
    cal = basic_calendar("America/New_York")
    for result in (cal.add(ny(2026, 1, 7, 9), H), cal.next_open(ny(2026, 1, 10))):
        assert result.tzinfo is UTC


def test_thirty_day_target() -> None:
    cal = basic_calendar("America/New_York")
    created = ny(2026, 1, 5, 0, 1)  # Mon 00:01 EST, open; a week holds 5d - 2min of business time
    # 30d = 6 weeks (29d23h48m) + 12 min -> Mon 2026-02-16 00:13 EST = 05:13Z.
    assert cal.add(created, timedelta(days=30)) == utc(2026, 2, 16, 5, 13)


# --- DST: durations are real elapsed time ---------------------------------------------------------


def test_eu_spring_forward_over_weekend() -> None:
    cal = basic_calendar("Europe/Paris")  # 2026-03-29 02:00 CET -> 03:00 CEST
    created = datetime(2026, 3, 27, 12, 0, tzinfo=PARIS)  # Fri 12:00 CET = 11:00Z
    # Friday: 12:00 -> 23:59 CET = 11h59m. Rest 12h01m from Mon 00:01 CEST (Sun 22:01Z)
    # -> Mon 12:02 CEST = 10:02Z (11:02Z if the offset change were ignored).
    assert cal.add(created, 24 * H) == utc(2026, 3, 30, 10, 2)


def test_eu_fall_back_over_weekend() -> None:
    cal = basic_calendar("Europe/Paris")  # 2026-10-25 03:00 CEST -> 02:00 CET
    created = datetime(2026, 10, 23, 12, 0, tzinfo=PARIS)  # Fri 12:00 CEST = 10:00Z
    # 11h59m on Friday; 12h01m from Mon 00:01 CET (Sun 23:01Z) -> Mon 12:02 CET = 11:02Z.
    assert cal.add(created, 24 * H) == utc(2026, 10, 26, 11, 2)


def test_us_spring_forward_over_weekend() -> None:
    cal = basic_calendar("America/New_York")  # 2026-03-08 02:00 EST -> 03:00 EDT
    created = ny(2026, 3, 6, 12, 0)  # Fri 12:00 EST = 17:00Z
    # 11h59m until Fri 23:59 EST (Sat 04:59Z); 12h01m from Mon 00:01 EDT (04:01Z) -> 16:02Z.
    assert cal.add(created, 24 * H) == utc(2026, 3, 9, 16, 2)


def test_us_fall_back_over_weekend() -> None:
    cal = basic_calendar("America/New_York")  # 2026-11-01 02:00 EDT -> 01:00 EST
    created = ny(2026, 10, 30, 12, 0)  # Fri 12:00 EDT = 16:00Z
    # 11h59m until Fri 23:59 EDT (Sat 03:59Z); 12h01m from Mon 00:01 EST (05:01Z) -> 17:02Z.
    assert cal.add(created, 24 * H) == utc(2026, 11, 2, 17, 2)


def test_window_over_a_dst_night_counts_real_hours() -> None:
    weekend = WeeklyWindow(5, time(0), 0, time(0))  # Sat 00:00 -> Mon 00:00
    cal = WeeklyCalendar(NY, [weekend])
    # Spring forward: Sat 00:00 EST (05:00Z) -> Mon 00:00 EDT (04:00Z) is 47 real hours.
    assert cal.between(ny(2026, 3, 7), ny(2026, 3, 9)) == 47 * H
    # Fall back: Sat 00:00 EDT (04:00Z) -> Mon 00:00 EST (05:00Z) is 49 real hours.
    assert cal.between(ny(2026, 10, 31), ny(2026, 11, 2)) == 49 * H


def test_always_open_adds_real_time_not_wall_clock_time() -> None:
    cal = AlwaysOpen()
    created = ny(2026, 3, 7, 12, 0)  # Sat 12:00 EST = 17:00Z
    # +24h real = Sun 17:00Z = 13:00 EDT (wall-clock arithmetic would give 12:00 EDT = 16:00Z).
    assert cal.add(created, 24 * H) == utc(2026, 3, 8, 17, 0)
    assert cal.between(created, ny(2026, 3, 8, 12, 0)) == 23 * H
    assert cal.between(created, ny(2026, 3, 7)) == timedelta(0)
    assert cal.is_open(created)
    assert cal.next_open(created) == utc(2026, 3, 7, 17, 0)


# --- Local times that do not exist or exist twice -------------------------------------------------


def test_basic_opening_in_a_midnight_gap_opens_at_the_transition() -> None:
    # Asia/Tehran, 2021-03-22: clocks jumped from Mon 00:00 (+03:30) to 01:00 (+04:30), at
    # 2021-03-21T20:30Z. Mon 00:01 never existed: the window opens at the transition.
    cal = basic_calendar("Asia/Tehran")
    created = utc(2021, 3, 20, 8, 30)  # Sat 12:00 +03:30
    assert cal.next_open(created) == utc(2021, 3, 21, 20, 30)
    assert not cal.is_open(utc(2021, 3, 21, 20, 29, 59))
    assert cal.add(created, 2 * H) == utc(2021, 3, 21, 22, 30)  # Mon 03:00 +04:30


def test_basic_close_at_an_ambiguous_time_uses_first_occurrence() -> None:
    # Asia/Tehran, 2018-09-22 00:00 (+04:30) fell back to Fri 23:00 (+03:30), so Fri 23:59
    # happened twice: 19:29Z (fold=0) and 20:29Z. The window closes at the first.
    cal = basic_calendar("Asia/Tehran")
    assert cal.is_open(utc(2018, 9, 21, 19, 28))
    assert not cal.is_open(utc(2018, 9, 21, 19, 30))  # wall clock reads Fri 23:00 (second time)
    created = utc(2018, 9, 21, 19, 0)  # Fri 23:30 +04:30
    # 29 min on Friday; 91 min from Mon 00:01 +03:30 (Sun 20:31Z) -> Sun 22:02Z.
    assert cal.add(created, 2 * H) == utc(2018, 9, 23, 22, 2)


def test_window_starting_in_a_midnight_gap_havana() -> None:
    # America/Havana, Sun 2026-03-08: 00:00 CST jumps to 01:00 CDT at 05:00Z.
    sunday_morning = WeeklyWindow(6, time(0, 1), 6, time(12, 0))
    cal = WeeklyCalendar("America/Havana", [sunday_morning])
    # Opens at the transition 05:00Z, closes 12:00 CDT = 16:00Z: 11h instead of 11h59m.
    assert cal.next_open(utc(2026, 3, 7)) == utc(2026, 3, 8, 5, 0)
    assert cal.between(utc(2026, 3, 7), utc(2026, 3, 9)) == 11 * H
    assert cal.between(utc(2026, 3, 14), utc(2026, 3, 16)) == 11 * H + 59 * M  # next Sunday


def test_holiday_starting_in_a_midnight_gap_santiago() -> None:
    # America/Santiago, Sun 2026-09-06: 00:00 (-04) does not exist, clocks jump to 01:00 (-03)
    # at 04:00Z. The holiday closes Sunday from that instant to Mon 00:00 -03 (03:00Z).
    weekend = WeeklyWindow(5, time(0), 0, time(0))  # Sat 00:00 -> Mon 00:00
    cal = WeeklyCalendar("America/Santiago", [weekend], holidays=[date(2026, 9, 6)])
    # Open Sat 00:00 -04 (04:00Z) up to the transition (Sun 04:00Z): exactly 24h.
    assert cal.between(utc(2026, 9, 5), utc(2026, 9, 8)) == 24 * H
    assert cal.is_open(utc(2026, 9, 6, 3, 59))
    assert not cal.is_open(utc(2026, 9, 6, 4, 0))


# --- Holidays -------------------------------------------------------------------------------------


def test_holiday_on_friday() -> None:
    cal = basic_calendar("America/New_York", holidays=[date(2026, 12, 25)])
    created = ny(2026, 12, 24, 20, 0)  # Thu 20:00 EST
    # Thu 20:00 -> Fri 00:00 = 4h; Friday closed; 20h from Mon 00:01 EST (05:01Z) -> Tue 01:01Z.
    assert cal.add(created, 24 * H) == utc(2026, 12, 29, 1, 1)
    assert not cal.is_open(ny(2026, 12, 25, 12))


def test_holiday_on_monday_opens_tuesday_midnight() -> None:
    cal = basic_calendar("America/New_York", holidays=[date(2026, 1, 19)])
    # Monday closed all day; the Mon->Fri window is still running at Tue 00:00 EST (05:00Z).
    assert cal.next_open(ny(2026, 1, 17, 9)) == utc(2026, 1, 20, 5, 0)
    assert cal.between(ny(2026, 1, 16, 12), ny(2026, 1, 20, 1)) == 11 * H + 59 * M + H


def test_holiday_on_weekend_changes_nothing() -> None:
    with_holiday = basic_calendar("UTC", holidays=[date(2026, 1, 10)])
    assert with_holiday.between(utc(2026, 1, 5), utc(2026, 1, 12)) == timedelta(days=5) - 2 * M


# --- Other window shapes --------------------------------------------------------------------------


def test_window_wrapping_over_the_week_end() -> None:
    overnight = WeeklyWindow(4, time(22), 0, time(6))  # Fri 22:00 -> Mon 06:00
    cal = WeeklyCalendar("UTC", [overnight])
    # Fri 12:00 -> Tue 00:00: open Fri 22:00 -> Mon 06:00 = 2h + 48h + 6h = 56h.
    assert cal.between(utc(2026, 1, 9, 12), utc(2026, 1, 13)) == 56 * H
    assert cal.is_open(utc(2026, 1, 12, 5, 59))


def test_overlapping_windows_are_merged() -> None:
    windows = [WeeklyWindow(0, time(9), 0, time(17)), WeeklyWindow(0, time(12), 0, time(20))]
    cal = WeeklyCalendar("UTC", windows)
    assert cal.between(utc(2026, 1, 5), utc(2026, 1, 6)) == 11 * H
    assert cal.add(utc(2026, 1, 5), 11 * H) == utc(2026, 1, 5, 20)


def test_calendars_satisfy_the_protocol() -> None:
    assert isinstance(AlwaysOpen(), BusinessCalendar)
    assert isinstance(basic_calendar("UTC"), BusinessCalendar)


# --- Validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cal", [AlwaysOpen(), basic_calendar("UTC")])
def test_naive_datetimes_are_rejected(cal: BusinessCalendar) -> None:
    naive = datetime(2026, 1, 7, 12)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        cal.add(naive, H)
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        cal.between(utc(2026, 1, 7), naive)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        cal.next_open(naive)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        cal.is_open(naive)


@pytest.mark.parametrize("cal", [AlwaysOpen(), basic_calendar("UTC")])
def test_negative_amount_is_rejected(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        cal.add(utc(2026, 1, 7), -M)


def test_invalid_windows_are_rejected() -> None:
    with pytest.raises(ValueError, match="zero length"):
        WeeklyWindow(0, time(9), 0, time(9))
    with pytest.raises(ValueError, match="start_day must be 0"):
        WeeklyWindow(7, time(9), 0, time(10))
    with pytest.raises(ValueError, match="must not carry a tzinfo"):
        WeeklyWindow(0, time(9, tzinfo=UTC), 0, time(10))
    with pytest.raises(ValueError, match="at least one window"):
        WeeklyCalendar("UTC", [])
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        WeeklyCalendar("Mars/Olympus_Mons", [BASIC_WINDOW])
