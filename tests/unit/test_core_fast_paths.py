"""The core's fast paths give what the plain paths give.

`add_each` is `add` for every amount (one walk of the weeks); the week a calendar found last is
reused only for instants inside it; `made_alert` builds the alert `Alert.model_validate` builds;
`format_instant` is RFC 3339 with `Z`; replay collects garbage less often and restores the
collector's thresholds after.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.domain.alerts import Alert, made_alert
from processor.domain.calendar import AlwaysOpen, WeeklyCalendar, WeeklyWindow, basic_calendar
from processor.domain.instants import format_instant
from processor.domain.policy import default_policy
from processor.replay import REPLAY_GC_THRESHOLD, Replayer, fewer_collections, replay_lines

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
CALENDARS = [
    AlwaysOpen(),
    basic_calendar("Europe/Paris", [date(2026, 3, 4), date(2026, 4, 6)]),
    basic_calendar("America/New_York"),  # DST starts 2026-03-08
    WeeklyCalendar("Pacific/Chatham", [WeeklyWindow(1, time(9), 1, time(10))]),  # 1 h a week
]

amounts = st.lists(
    st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(range(len(CALENDARS))),
    st.integers(min_value=0, max_value=90 * 24 * 60),
    amounts,
)
def test_add_each_is_add_for_every_amount(which: int, minutes: int, each: list[timedelta]) -> None:
    calendar = CALENDARS[which]
    start = START + timedelta(minutes=minutes)
    assert calendar.add_each(start, each) == [calendar.add(start, a) for a in each]
    assert calendar.add_each(start, sorted(each)) == [calendar.add(start, a) for a in sorted(each)]


def test_add_each_refuses_a_negative_amount_as_add_does() -> None:
    for calendar in CALENDARS:
        with pytest.raises(ValueError, match="must not be negative"):
            calendar.add_each(START, [HOUR, -HOUR])


def test_add_each_of_a_non_utc_start_is_in_utc() -> None:
    paris = START.astimezone(timezone(timedelta(hours=1)))
    for calendar in CALENDARS:
        out = calendar.add_each(paris, [HOUR, 3 * HOUR])
        assert out == [calendar.add(START, HOUR), calendar.add(START, 3 * HOUR)]
        assert all(at.tzinfo is UTC for at in out)


def test_the_last_week_found_is_reused_only_for_instants_inside_it() -> None:
    """Instants jumping back and forth over week bounds (and a DST change) give what a fresh
    calendar gives for each one."""
    rng = random.Random(5)
    shared = basic_calendar("America/New_York")
    for _ in range(400):
        at = START + timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        fresh = basic_calendar("America/New_York")
        assert shared.add(at, 5 * HOUR) == fresh.add(at, 5 * HOUR)
        assert shared.between(START, at) == fresh.between(START, at)
        assert shared.is_open(at) == fresh.is_open(at)


def test_made_alert_equals_the_validated_alert() -> None:
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for threshold in (0.75, 1.0, None):
        values = (
            "sla.near_breach", "id-1", "T-1", "cust-1", "gold", 2, "resolution", threshold,
            at, at + HOUR, 3600, "v1", at + 2 * HOUR,
        )  # fmt: skip
        made = made_alert(*values)
        checked = Alert.model_validate(dict(zip(Alert.model_fields, values, strict=True)))
        assert made == checked
        assert made.to_json() == checked.to_json()
        assert made.model_fields_set == checked.model_fields_set
        later = made.with_emitted_at(at + 3 * HOUR)
        assert later.emitted_at == at + 3 * HOUR and made.emitted_at == at + 2 * HOUR
        copied = checked.model_copy(update={"emitted_at": at + 3 * HOUR})
        assert later == copied and later.to_json() == copied.to_json()
        assert later.model_fields_set == copied.model_fields_set


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(8999, 12, 30)))  # noqa: DTZ001
def test_format_instant_is_rfc3339_with_z(naive: datetime) -> None:
    at = naive.replace(tzinfo=UTC)
    expected = at.isoformat(timespec="microseconds" if at.microsecond else "seconds")
    assert format_instant(at) == expected.replace("+00:00", "Z")
    shifted = at.astimezone(timezone(timedelta(hours=-5, minutes=-30)))
    assert format_instant(shifted) == format_instant(at)


def test_replay_collects_less_often_and_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    line = (
        b'{"type":"ticket.created","event_id":"e1","ticket_id":"T-1","occurred_at":'
        b'"2026-03-02T10:00:00Z","customer_id":"c","tier":"gold","priority":1}'
    )
    inside: list[tuple[int, int, int]] = []

    def lines() -> Iterator[bytes]:
        inside.append(gc.get_threshold())
        yield line
        yield line.replace(b"T-1", b"T-2").replace(b"e1", b"e2").replace(b"T10", b"T12")

    alerts = list(replay_lines(lines(), Replayer(default_policy())))
    assert alerts and gc.get_threshold() == before
    assert all(i >= n for i, n in zip(inside[0], REPLAY_GC_THRESHOLD, strict=True))
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
