"""Small edges of the core that the full mutation run found unchecked (docs/mutation.md): the
holiday subdivision, exact policy problems, pinned clock alert ids, replay's 300-character cut."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import tzset

import pytest
from sla_helpers import policy_with

from processor.domain._policy_yaml import MAX_POLICY_BYTES
from processor.domain.alerts import clock_alert_id
from processor.domain.durations import parse_duration
from processor.domain.holidays import HOLIDAYS_VERSION, country_holidays, country_problem
from processor.domain.instants import check_zone, format_instant
from processor.domain.policy import PolicyError, default_policy, parse_policy
from processor.domain.policy_specs import parse_week_time
from processor.replay import _describe

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy-all-metrics.yaml"


def test_a_subdivision_adds_its_own_holidays_and_an_unknown_one_is_a_problem() -> None:
    # Lincoln's Birthday (2026-02-12) is a public holiday in New York, not in the US as a whole.
    ny, us = country_holidays("US", "NY"), country_holidays("US")
    assert ny is not None and us is not None
    assert date(2026, 2, 12) in ny and date(2026, 2, 12) not in us
    assert country_problem("US", "NY") is None
    assert country_problem("US", "XX") == (
        f"Entity `US` does not have subdivision XX in the holidays package {HOLIDAYS_VERSION}"
    )
    assert country_holidays("US", "XX") is None


def test_a_pause_status_listed_twice_is_named_in_the_message() -> None:
    text = EXAMPLE.read_text().replace(
        "pause_on: [pending, on_hold]", "pause_on: [on_hold, pending, on_hold]"
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert caught.value.problems == [
        "metrics.resolution.pause_on: listed more than once: on_hold, on_hold, pending"
    ]


@pytest.mark.parametrize(
    ("length", "described"),
    [
        # "ValueError: " is 12 characters: 288 more make exactly 300, kept whole.
        (288, "ValueError: " + "x" * 288),
        # 289 make 301: cut to 300 and marked.
        (289, "ValueError: " + "x" * 288 + "..."),
    ],
)
def test_an_internal_error_of_300_characters_is_whole_and_of_301_is_cut(
    length: int, described: str
) -> None:
    assert _describe(ValueError("x" * length)) == described


def test_clock_alert_ids_are_pinned() -> None:
    # The ids consumers dedupe on: a change to how they are built changes every id (like
    # alert_id's golden values). uuid5 of ticket, metric, parts and level joined by \x1f.
    start, deadline = "2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z"
    assert clock_alert_id("T", "next_reply", (start,), None) == (
        "7ec9e3cb-6973-58b2-b365-8031107c7bda"
    )
    assert clock_alert_id("T", "next_reply", (start, deadline), 0.75) == (
        "4d756567-2d13-56f1-ba48-af55734cbfb7"
    )


def test_a_fraction_too_close_to_the_breach_is_one_exact_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(thresholds=[0.75, 0.99999])
    assert caught.value.problems == [
        "thresholds: fraction 0.99999 reads 1.0000 in alert ids, the breach's; use at most 0.9999"
    ]


def test_a_next_reply_target_beyond_ten_years_of_its_calendar_is_named() -> None:
    # basic on a calendar open one hour a week: 520 weeks hold 520h; a next-reply target of
    # 521h is refused under the next_reply table (first response alone is checked elsewhere).
    text = (
        EXAMPLE.read_text()
        .replace(
            "calendars:\n",
            'calendars:\n  hour: {type: weekly, windows: [{from: "mon 09:00", to: "mon 10:00"}]}\n',
        )
        .replace("basic:  {calendar: business-hours", "basic:  {calendar: hour")
        .replace("basic:  {1: 4h, 2: 12h,", "basic:  {1: 521h, 2: 12h,")
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert caught.value.problems == [
        "metrics.next_reply.targets.basic.1: 521h00m of business time takes more than 10 years "
        "of calendar 'hour' (open 1h00m a week)"
    ]


def test_a_duration_number_of_12_digits_is_read_and_of_13_is_too_long() -> None:
    # 12 digits are read as written (90 s); 13 are too long whatever they say.
    assert parse_duration("000000000090s") == timedelta(seconds=90)
    with pytest.raises(ValueError) as caught:
        parse_duration("0000000000090s")
    assert str(caught.value) == "'0000000000090s' is too long; at most 36500d"


def test_a_policy_under_the_limit_in_characters_but_over_it_in_bytes_is_refused() -> None:
    # 33,000 'é' are 66,000 bytes of UTF-8 (two each) in fewer than 65,536 characters.
    text = EXAMPLE.read_text() + "#" + "é" * 33_000 + "\n"
    assert len(text) < MAX_POLICY_BYTES < len(text.encode("utf-8"))
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert str(caught.value) == "<policy>: the policy is larger than 64 KiB; nothing was read"


def test_twenty_problems_are_listed_and_the_twenty_first_is_counted() -> None:
    def message(keys: int) -> str:
        with pytest.raises(PolicyError) as caught:
            policy_with(**{f"x{i:02d}": 1 for i in range(keys)})
        assert len(caught.value.problems) == keys
        return str(caught.value)

    twenty, more = message(20), message(22)
    assert twenty.endswith("x19: unknown key (check its spelling and indentation)")
    assert more.count("unknown key") == 20 and more.endswith("\n  ... and 2 more")


@pytest.mark.parametrize(
    ("thresholds", "problem"),
    [
        ([0, 0.5], "thresholds.0: fraction 0 is not between 0 and 1 (exclusive); the breach "
         "at 1.0 is implicit"),
        ([0.5, 1], "thresholds.1: fraction 1 is not between 0 and 1 (exclusive); the breach "
         "at 1.0 is implicit"),
        ([{"before": "15m", "after": 1}], "thresholds.0: {'after': 1, 'before': '15m'} is not a "
         "threshold; write {before: 15m}"),
        ([0.75, 0.9, 0.75, 0.9], "thresholds: listed more than once: 0.75, 0.9"),
    ],
)  # fmt: skip
def test_thresholds_at_0_and_1_unknown_keys_and_repeats_are_exact_problems(
    thresholds: list[object], problem: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(thresholds=thresholds)
    assert caught.value.problems == [problem]


def test_weekly_times_read_seconds_and_refuse_minute_60_and_second_60() -> None:
    assert parse_week_time("tue 10:00") == (1, time(10, 0, 0))
    assert parse_week_time("Monday 09:30:15") == (0, time(9, 30, 15))
    assert parse_week_time("sun 23:59:59") == (6, time(23, 59, 59))
    for text in ("mon 09:60", "mon 09:59:60", "mon 24:00"):
        with pytest.raises(ValueError) as caught:
            parse_week_time(text)
        assert str(caught.value) == (
            f"'{text}' is not a weekly time; write a day and a 24-hour local time, e.g. 'mon 00:01'"
        )


def test_a_calendar_with_a_subdivision_closes_on_its_holidays() -> None:
    # {country: US, subdivision: NY}: Lincoln's Birthday, Thu 2026-02-12, is closed in New
    # York; the day before is open.
    text = EXAMPLE.read_text().replace(
        "holidays: {country: from_ticket}", "holidays: {country: US, subdivision: NY}"
    )
    calendar = parse_policy(text).calendar("basic", "America/New_York")
    assert not calendar.is_open(datetime.fromisoformat("2026-02-12T12:00:00-05:00"))
    assert calendar.is_open(datetime.fromisoformat("2026-02-11T12:00:00-05:00"))


def test_a_metric_the_policy_does_not_enable_is_named() -> None:
    with pytest.raises(ValueError) as caught:
        default_policy().target("gold", 1, "next_reply")
    assert (
        str(caught.value) == "metric 'next_reply' is not enabled by policy 'okta-premier-success-1'"
    )


def test_format_instant_writes_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 12:00 at +02:00 is 10:00Z; with the process in New York (-05:00 in March before the
    # change), a conversion to the local zone would write 05:00.
    monkeypatch.setenv("TZ", "America/New_York")
    tzset()
    try:
        at = datetime.fromisoformat("2026-03-02T12:00:00+02:00")
        assert format_instant(at) == "2026-03-02T10:00:00Z"
    finally:
        monkeypatch.undo()
        tzset()


def test_an_unknown_zone_is_named_in_the_message() -> None:
    with pytest.raises(ValueError) as caught:
        check_zone("Mars/Olympus")
    assert str(caught.value) == "unknown IANA time zone 'Mars/Olympus' (e.g. 'Europe/Paris', 'UTC')"
