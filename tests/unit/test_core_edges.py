"""Edges of the core's leaf modules that mutation testing found unchecked (docs/mutation.md):
the exact one-line errors for bad events and policies, size limits at the byte, instants built
in Python, negative durations, and UTC results."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from importlib.resources import files
from pathlib import Path

import pytest
from sla_helpers import policy_with

from processor.domain._policy_yaml import MAX_POLICY_BYTES
from processor.domain.alerts import Alert
from processor.domain.calendar import AlwaysOpen, basic_calendar
from processor.domain.durations import format_duration
from processor.domain.events import EVENT_TYPES, InvalidEvent, TicketCreated, parse_event
from processor.domain.instants import to_utc
from processor.domain.policy import PolicyError, load_policy, parse_policy

TYPES = ", ".join(EVENT_TYPES)
BASE = {"event_id": "e-1", "ticket_id": "T-1", "occurred_at": "2026-03-02T10:00:00Z"}


def invalid(raw: bytes | str) -> tuple[str, str]:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert str(caught.value) == caught.value.message  # the exception reads as its message
    return caught.value.reason, caught.value.message


# -- events ------------------------------------------------------------------------------------


def test_each_kind_of_bad_event_has_its_exact_one_line_message() -> None:
    assert invalid(b'{"type": "ticket.created", \xff}') == (
        "not_utf8",
        "event is not valid UTF-8",
    )
    assert invalid(b'{"type": ') == (
        "not_json",
        "not valid JSON: EOF while parsing a value at line 1 column 9",
    )
    assert invalid(b"[1, 2]") == ("not_json", "event must be a JSON object")
    assert invalid(json.dumps(BASE)) == ("unknown_type", f"missing field 'type' (one of {TYPES})")
    assert invalid(json.dumps({**BASE, "type": "ticket.merged"})) == (
        "unknown_type",
        f"field 'type' must be one of {TYPES}",
    )


def test_a_bad_field_names_its_path_without_the_event_type() -> None:
    body = {**BASE, "type": "ticket.priority_changed", "priority": 9}
    assert invalid(json.dumps(body)) == (
        "invalid_field",
        "priority: Input should be less than or equal to 4",
    )


def test_at_most_five_field_problems_are_listed_and_joined_by_semicolons() -> None:
    body = {"type": "ticket.created"}  # six required fields missing
    reason, message = invalid(json.dumps(body))
    assert reason == "invalid_field"
    parts = message.split("; ")
    assert len(parts) == 5 and all(p.endswith(": Field required") for p in parts)
    assert parts[0] == "event_id: Field required"


def test_an_event_built_in_python_is_converted_to_utc_and_range_checked() -> None:
    paris = timezone(timedelta(hours=1))
    event = TicketCreated(
        event_id="e",
        ticket_id="T",
        occurred_at=datetime(2026, 3, 2, 11, 0, tzinfo=paris),
        customer_id="c",
        tier="gold",
        priority=1,
    )
    assert event.occurred_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC


def test_to_utc_converts_checks_the_range_and_refuses_naive_times() -> None:
    assert to_utc(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    assert to_utc(datetime(1970, 1, 1, tzinfo=UTC)).tzinfo is UTC
    out_of_range = "timestamp must be between 1970-01-01 and 9000-01-01"
    for bad in (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)):
        with pytest.raises(ValueError) as caught:
            to_utc(bad)
        assert str(caught.value) == out_of_range
    assert to_utc(datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC)).year == 8999
    with pytest.raises(ValueError, match="has no offset"):
        to_utc(datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose)
    with pytest.raises(ValueError, match="has no offset"):
        to_utc(datetime(2026, 1, 1, tzinfo=NoOffset()))
    with pytest.raises(ValueError) as caught:  # converting to UTC overflows datetime itself
        to_utc(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=23))))
    assert str(caught.value) == out_of_range


class NoOffset(tzinfo):
    """A tzinfo that knows no offset: such a datetime is naive (Python's own definition)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


# -- durations, alerts, calendars --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        (-timedelta(minutes=30), False, "-30m"),
        (-timedelta(hours=1, seconds=5), False, "-1h00m05s"),
        (-timedelta(days=2), True, "-2d"),
        (-timedelta(days=2), False, "-48h00m"),
        (timedelta(microseconds=120_000), False, "0.12s"),
        (timedelta(seconds=1, microseconds=5), False, "1.000005s"),
    ],
)
def test_format_duration_of_negative_and_fractional_durations(
    value: timedelta, days: bool, expected: str
) -> None:
    assert format_duration(value, days) == expected


def test_an_alert_stamped_anew_is_in_utc_and_otherwise_unchanged() -> None:
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    alert = Alert(
        type="sla.breached",
        alert_id="a",
        ticket_id="T",
        customer_id="c",
        tier="gold",
        priority=1,
        metric="first_response",
        threshold=1.0,
        due_at=at,
        deadline=at,
        target_seconds=1800,
        policy_version="v",
        emitted_at=at,
    )
    # 13:00 at +02:00 is 11:00 UTC, an hour after the alert's own emitted_at.
    later = alert.with_emitted_at(datetime(2026, 3, 2, 13, 0, tzinfo=timezone(timedelta(hours=2))))
    assert later.emitted_at == at + timedelta(hours=1) and later.emitted_at.tzinfo is UTC
    assert later.model_dump(exclude={"emitted_at"}) == alert.model_dump(exclude={"emitted_at"})


def test_always_open_returns_utc_instants() -> None:
    cal = AlwaysOpen()
    local = datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert cal.next_open(local).tzinfo is UTC and cal.next_open(local) == local
    assert cal.add(local, timedelta(minutes=5)).tzinfo is UTC
    assert repr(cal) == "AlwaysOpen()"


def test_a_weekly_calendar_shows_its_zone_windows_and_sorted_holidays() -> None:
    cal = basic_calendar("Europe/Paris", [date(2026, 12, 25), date(2026, 1, 1)])
    assert repr(cal) == (
        "WeeklyCalendar('Europe/Paris', [WeeklyWindow(start_day=0, start_time=datetime.time(0, 1),"
        " end_day=4, end_time=datetime.time(23, 59))], "
        "[datetime.date(2026, 1, 1), datetime.date(2026, 12, 25)])"
    )


# -- policies ----------------------------------------------------------------------------------


def test_a_policy_file_of_exactly_the_size_limit_is_read(tmp_path: Path) -> None:
    shipped = files("processor.domain").joinpath("default_policy.yaml")
    text = shipped.read_text(encoding="utf-8").replace('version: "', 'version: "x', 1)
    path = tmp_path / "policy.yaml"
    pad = MAX_POLICY_BYTES - len(text.encode()) - 2
    path.write_text(text + "#" + "x" * pad + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_POLICY_BYTES
    assert load_policy(path).version.startswith("x")
    path.write_text(text + "#" + "x" * (pad + 1) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: the policy is larger than 64 KiB; nothing was read"


def test_a_policy_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: caf\xe9\n")
    with pytest.raises(PolicyError, match=r"cannot read the policy file: 'utf-8' codec"):
        load_policy(path)


def test_a_target_of_exactly_520_weeks_of_open_time_is_allowed_and_one_second_more_is_not() -> None:
    calendars = {"hour": {"type": "weekly", "windows": [{"from": "mon 09:00", "to": "mon 10:00"}]}}
    limit = 520 * 3600  # one open hour a week, for at most ten years of weeks

    def tiers(seconds: int) -> dict[str, object]:
        targets = {1: seconds, 2: 3600, 3: 3600, 4: 3600}
        tier = ("basic", "silver", "gold")
        return {t: {"calendar": "hour", "targets": dict(targets)} for t in tier}

    assert policy_with(calendars=calendars, tiers=tiers(limit)).target("gold", 1) == timedelta(
        seconds=limit
    )
    with pytest.raises(PolicyError) as caught:
        policy_with(calendars=calendars, tiers=tiers(limit + 1))
    assert "of business time takes more than 10 years of calendar 'hour' (open 1h00m a week)" in (
        str(caught.value)
    )


def test_a_holiday_that_is_not_a_date_has_the_exact_hint() -> None:
    calendars = {
        "always": {"type": "always"},
        "business-hours": {
            "type": "weekly",
            "windows": [{"from": "mon 00:01", "to": "fri 23:59"}],
            "holidays": ["2026-12-25T00:00:00Z"],
        },
    }
    with pytest.raises(PolicyError) as caught:
        policy_with(calendars=calendars)
    assert (
        "is not a local date; write YYYY-MM-DD, e.g. 2026-12-25 (a holiday is a whole day in "
        "the ticket's time zone, so it has no time or offset)"
    ) in str(caught.value)


def test_a_fraction_threshold_too_close_to_the_breach_has_the_exact_hint() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(thresholds=[0.75, 0.99999])
    assert "use at most 0.9999" in str(caught.value)


def test_parse_policy_refuses_text_over_the_limit() -> None:
    with pytest.raises(PolicyError, match="larger than 64 KiB"):
        parse_policy("#" * (MAX_POLICY_BYTES + 1))


def test_two_fractions_with_one_alert_id_are_one_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(thresholds=[0.75, 0.75001])
    assert caught.value.problems == [
        "thresholds: fractions 0.75 and 0.75001 both read 0.7500 in alert ids (4 decimals); "
        "keep one"
    ]


def test_every_before_threshold_that_reads_as_the_breach_is_named() -> None:
    # For a 24h target, 1 s and 2 s before the deadline both round to 1.0000 (the breach).
    with pytest.raises(PolicyError) as caught:
        policy_with(thresholds=[0.75, {"before": "1s"}, {"before": "2s"}])
    named = [p for p in caught.value.problems if "would read 1.0000" in p]
    assert [p.split(" is due")[0] for p in named] == [
        "thresholds: {before: 1s}",
        "thresholds: {before: 2s}",
    ]
