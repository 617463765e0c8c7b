"""The SLA policy: the shipped default is the seed, bad files give readable errors, thresholds add
up, and the `policy` CLI prints what a policy means."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from processor.commands.policy import policy as policy_cli
from processor.domain.calendar import BASIC_WINDOW, AlwaysOpen, WeeklyCalendar
from processor.domain.durations import format_duration, parse_duration
from processor.domain.policy import (
    Policy,
    PolicyError,
    Threshold,
    Tier,
    default_policy,
    load_policy,
    parse_policy,
)

DEFAULT_TEXT = files("processor.domain").joinpath("default_policy.yaml").read_text("utf-8")
H, M = timedelta(hours=1), timedelta(minutes=1)

# The seed's response-time table (docs/contract.md#3-sla-semantics).
SEED: dict[Tier, dict[int, timedelta]] = {
    "basic": {1: 2 * H, 2: 12 * H, 3: 24 * H, 4: 24 * H},
    "silver": {1: H, 2: 2 * H, 3: 8 * H, 4: 24 * H},
    "gold": {1: 30 * M, 2: H, 3: 4 * H, 4: 24 * H},
}


def edited(old: str, new: str) -> str:
    assert old in DEFAULT_TEXT, old
    return DEFAULT_TEXT.replace(old, new)


def problems_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message


# --- the shipped default --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "priority", "target"),
    [(tier, p, target) for tier, row in SEED.items() for p, target in row.items()],
)
def test_default_targets_are_the_seed_matrix(tier: Tier, priority: int, target: timedelta) -> None:
    assert default_policy().target(tier, priority) == target


def test_default_settings() -> None:
    policy = default_policy()
    assert policy.version == "okta-premier-success-1"
    assert policy.metric == "first_response"
    assert policy.on_priority_change == "from_creation"
    assert policy.pending_event_retention == timedelta(days=7)
    assert policy.thresholds == [0.75, 0.9]


def test_default_calendars() -> None:
    policy = default_policy()
    basic = policy.calendar("basic", "America/New_York")
    assert isinstance(basic, WeeklyCalendar)
    assert basic.zone.key == "America/New_York"
    assert repr(basic) == repr(WeeklyCalendar("America/New_York", [BASIC_WINDOW]))
    assert isinstance(policy.calendar("silver", "Europe/Paris"), AlwaysOpen)
    assert isinstance(policy.calendar("gold", "UTC"), AlwaysOpen)


def test_default_is_shipped_as_package_data_and_loads_by_path() -> None:
    shipped = files("processor.domain").joinpath("default_policy.yaml")
    assert shipped.is_file()
    assert load_policy(None) is default_policy()
    assert load_policy(str(shipped)) == default_policy()


def test_calendars_are_cached_per_tier_and_zone_without_changing_equality() -> None:
    policy = parse_policy(DEFAULT_TEXT)
    first = policy.calendar("basic", "America/New_York")
    assert policy.calendar("basic", "America/New_York") is first
    assert policy.calendar("basic", "Europe/Paris") is not first
    assert policy == parse_policy(DEFAULT_TEXT)  # a fresh one, with nothing cached


def test_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        default_policy().version = "other"


def test_target_rejects_unknown_priority_and_tier() -> None:
    with pytest.raises(ValueError, match="priority 5 is not one of 1-4"):
        default_policy().target("basic", 5)
    with pytest.raises(ValueError, match="tier 'platinum' is not one of basic, silver, gold"):
        default_policy().target("platinum", 1)  # type: ignore[arg-type]


# --- readable errors ------------------------------------------------------------------------------


def test_missing_tier(tmp_path: Path) -> None:
    text = edited("  gold:   {calendar: always, targets: {1: 30m, 2: 1h, 3: 4h, 4: 24h}}\n", "")
    assert "  - tiers.gold: required, but missing" in problems_of(tmp_path, text)


def test_priority_out_of_range_and_missing(tmp_path: Path) -> None:
    text = edited("{1: 2h, 2: 12h, 3: 24h, 4: 24h}", "{1: 2h, 2: 12h, 3: 24h, 5: 24h}")
    message = problems_of(tmp_path, text)
    assert "tiers.basic.targets: priority 5 is not one of 1-4; priority 4 is missing" in message


def test_fraction_above_one(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("  - 0.90 ", "  - 1.2 "))
    assert "thresholds.1: fraction 1.2 is not between 0 and 1 (exclusive)" in message


def test_repeated_fraction(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("  - 0.90 ", "  - 0.75 "))
    assert "thresholds: listed more than once: 0.75" in message


def test_bad_duration(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("{1: 2h, 2: 12h", "{1: 2 hours, 2: 12h"))
    assert "tiers.basic.targets.1: '2 hours' is not a duration; write e.g. 30m, 2h" in message


def test_clock_time_is_not_a_duration(tmp_path: Path) -> None:
    # YAML 1.1 would read 2:00 as the base-60 integer 120 (seconds): refused instead.
    message = problems_of(tmp_path, edited("{1: 2h, 2: 12h", "{1: 2:00, 2: 12h"))
    assert "tiers.basic.targets.1: '2:00' is not a duration" in message


def test_zero_duration(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path, edited("pending_event_retention: 7d", "pending_event_retention: 0")
    )
    assert "pending_event_retention: must be longer than 0, got 0s" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = problems_of(tmp_path, DEFAULT_TEXT + "escalation: page-the-cto\n")
    assert "  - escalation: unknown key (check its spelling and indentation)" in message


def test_unknown_calendar_name(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("calendar: business-hours", "calendar: biz-hours"))
    expected = (
        "tiers.basic.calendar: unknown calendar 'biz-hours' "
        "(this file defines: always, business-hours)"
    )
    assert expected in message


@pytest.mark.parametrize(
    ("holiday", "expected"),
    [
        (
            "2026-12-25T10:00:00+01:00",
            "'2026-12-25T10:00:00+01:00' is not a local date; write YYYY-MM-DD",
        ),
        ("2026-02-30", "'2026-02-30' is not a date: day is out of range for month"),
        ("25/12/2026", "'25/12/2026' is not a local date"),
    ],
)
def test_invalid_holiday_date(tmp_path: Path, holiday: str, expected: str) -> None:
    message = problems_of(tmp_path, edited("holidays: []", f"holidays: [{holiday}]"))
    assert f"calendars.business-hours.holidays.0: {expected}" in message


def test_empty_windows(tmp_path: Path) -> None:
    text = edited('windows: [{from: "mon 00:01", to: "fri 23:59"}]', "windows: []")
    message = problems_of(tmp_path, text)
    assert "calendars.business-hours: a weekly calendar needs at least one window" in message


def test_zero_length_and_malformed_windows(tmp_path: Path) -> None:
    text = edited('to: "fri 23:59"}]', 'to: "mon 00:01"}, {from: "funday 09:00", to: "fri 24:00"}]')
    message = problems_of(tmp_path, text)
    assert "calendars.business-hours.windows.0: window mon 00:01 -> mon 00:01 is empty" in message
    assert (
        "windows.1.from: 'funday 09:00' is not a weekly time; write a day and a 24-hour" in message
    )
    assert "windows.1.to: 'fri 24:00' is not a weekly time" in message


def test_unknown_calendar_type_and_literal_values(tmp_path: Path) -> None:
    text = edited("{type: always}", "{type: daily}").replace("from_creation ", "later ")
    message = problems_of(tmp_path, text)
    assert "calendars.always.type: must be 'always' or 'weekly', got 'daily'" in message
    assert "on_priority_change: must be 'from_creation' or 'from_change', got 'later'" in message


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = edited("  - 0.90 ", "  - 1.2 ").replace("{1: 30m,", "{1: soon,") + "extra: 1\n"
    message = problems_of(tmp_path, text)
    assert message.count("\n  - ") == 3, message


def test_problems_are_also_available_as_a_list(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(edited("  - 0.90 ", "  - 1.2 "), "inline")
    assert caught.value.problems == [
        "thresholds.1: fraction 1.2 is not between 0 and 1 (exclusive); "
        "the breach at 1.0 is implicit"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: [", "not valid YAML: while parsing a flow node"),
        ("version: a\nversion: b\n", "not valid YAML: duplicate key 'version'"),
        ("- just a list\n", "expected a mapping of policy settings"),
    ],
)
def test_not_a_policy_document(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problems_of(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.yaml: cannot read the policy file"):
        load_policy(tmp_path / "nope.yaml")


# --- thresholds -----------------------------------------------------------------------------------


def test_default_thresholds_for_two_hours() -> None:
    # 0.75 * 2h = 1h30m, 0.90 * 2h = 1h48m, breach at 2h.
    assert default_policy().thresholds_for(2 * H) == [
        Threshold(0.75, 90 * M),
        Threshold(0.9, 108 * M),
        Threshold(1.0, 2 * H),
    ]


def test_threshold_elapsed_is_exact_decimal_arithmetic() -> None:
    policy = parse_policy(edited("  - 0.75 ", "  - 0.29 "))
    # 0.29 * 100s = 29s exactly (the binary float product would be 28.999999999999996 s).
    assert policy.thresholds_for(timedelta(seconds=100))[0] == Threshold(
        0.29, timedelta(seconds=29)
    )
    # Rounded half up to whole microseconds: 0.29 * 50us = 14.5us -> 15us; 0.9 * 5us = 4.5 -> 5.
    assert policy.thresholds_for(timedelta(microseconds=50))[0].elapsed == timedelta(
        microseconds=15
    )
    assert policy.thresholds_for(timedelta(microseconds=5))[1].elapsed == timedelta(microseconds=5)


def test_before_deadline_thresholds() -> None:
    policy = parse_policy(edited("  - 0.90 ", "  - {before: 15m}"))
    # 2h target: 15m before the deadline = 1h45m elapsed = 0.875 of the target.
    assert policy.thresholds_for(2 * H)[1] == Threshold(0.875, 105 * M)
    # 1h target: 45m = 0.75, the same fraction as the 0.75 threshold: kept once.
    assert policy.thresholds_for(H) == [Threshold(0.75, 45 * M), Threshold(1.0, H)]
    # 10m target: 15m before the deadline is before the start: due at once, fraction 0.0.
    assert policy.thresholds_for(10 * M)[0] == Threshold(0.0, timedelta(0))


def test_before_threshold_fraction_is_rounded_and_stays_below_one() -> None:
    policy = parse_policy(edited("  - 0.90 ", "  - {before: 1s}\n  - {before: 7m}"))
    near = policy.thresholds_for(24 * H)
    # (24h - 7m) / 24h = 0.995138... -> 0.9951; (24h - 1s) / 24h = 0.99998... -> 0.9999, not 1.0.
    assert [t.fraction for t in near] == [0.75, 0.9951, 0.9999, 1.0]
    assert near[2].elapsed == 24 * H - timedelta(seconds=1)
    assert [t.is_breach for t in near] == [False, False, False, True]


def test_thresholds_are_sorted_by_elapsed_time() -> None:
    policy = parse_policy(edited("  - 0.75 ", "  - {before: 1h}"))
    assert [t.fraction for t in policy.thresholds_for(2 * H)] == [0.5, 0.9, 1.0]
    with pytest.raises(ValueError, match="target must be longer than 0"):
        policy.thresholds_for(timedelta(0))


def test_holidays_reach_the_calendar() -> None:
    policy = parse_policy(edited("holidays: []", "holidays: [2026-12-25]"))
    basic = policy.calendar("basic", "UTC")
    assert not basic.is_open(datetime(2026, 12, 25, 12, tzinfo=UTC))
    assert basic.is_open(datetime(2026, 12, 24, 12, tzinfo=UTC))


def test_policy_from_python_values() -> None:
    data = {
        "version": "v",
        "calendars": {
            "biz": {
                "type": "weekly",
                "windows": [{"from": "Monday 9:00", "to": "fri 17:00"}],
                "holidays": [date(2026, 1, 1)],
            }
        },
        "tiers": {
            tier: {"calendar": "biz", "targets": {p: timedelta(hours=p) for p in range(1, 5)}}
            for tier in SEED
        },
    }
    policy = Policy.model_validate(data)
    assert policy.target("gold", 3) == 3 * H
    assert policy.thresholds == [0.75, 0.9]  # defaults for what the file leaves out
    assert policy.on_priority_change == "from_creation"


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("30m", 30 * M),
        ("2h", 2 * H),
        ("1h30m", 90 * M),
        ("90s", timedelta(seconds=90)),
        ("7d", timedelta(days=7)),
        (3600, H),
        (" 2h ", 2 * H),
    ],
)
def test_parse_duration(written: str | int, expected: timedelta) -> None:
    assert parse_duration(written) == expected


@pytest.mark.parametrize("written", ["2 hours", "1.5h", "", "h", "30m2h", "2H", True, 1.5, None])
def test_parse_duration_rejects(written: object) -> None:
    with pytest.raises(
        ValueError, match=r"is not a duration; write e\.g\. 30m, 2h, 1h30m, 90s, 7d"
    ):
        parse_duration(written)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2 * H, "2h00m"),
        (24 * H, "24h00m"),
        (30 * M, "30m"),
        (timedelta(seconds=1350), "22m30s"),
        (timedelta(0), "0s"),
        (timedelta(microseconds=500_000), "0.5s"),
        (H + timedelta(seconds=5), "1h00m05s"),
    ],
)
def test_format_duration(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_check_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(DEFAULT_TEXT, encoding="utf-8")
    result = CliRunner().invoke(policy_cli, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: OK" in result.stdout
    assert (
        "  basic  P1   2h00m  business-hours  near-breach 1h30m, 1h48m, breach 2h00m"
        in result.stdout
    )
    assert (
        "  gold   P1     30m  always          near-breach 22m30s, 27m, breach 30m" in result.stdout
    )
    rows = [line for line in result.stdout.splitlines() if " P" in line and "breach" in line]
    assert len(rows) == 12


def test_cli_check_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        edited("{1: 2h, 2: 12h, 3: 24h, 4: 24h}", "{1: 2h, 2: 12h, 3: 24h, 5: 24h}"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(policy_cli, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        f"{path}: invalid policy:\n  - tiers.basic.targets: priority 5 is not one of 1-4"
        in result.stderr
    )


def test_cli_show_default() -> None:
    result = CliRunner().invoke(policy_cli, ["show"], env={"SLA_POLICY_FILE": None})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["source: shipped default policy", "version: okta-premier-success-1"]
    assert "thresholds: 75%, 90%, breach at 100%" in lines
    assert "pending_event_retention: 7d" in lines
    assert (
        "  business-hours  weekly, ticket's local time: mon 00:01 -> fri 23:59; holidays: none"
        in lines
    )


def test_cli_show_file_from_option_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    text = edited("  - 0.90 ", "  - {before: 15m}").replace(
        "holidays: []", "holidays: [2026-12-25]"
    )
    path.write_text(text.replace("okta-premier-success-1", "custom-2"), encoding="utf-8")
    for args, env in (
        (["show", "--policy", str(path)], {}),
        (["show"], {"SLA_POLICY_FILE": str(path)}),
    ):
        result = CliRunner().invoke(policy_cli, args, env=env)
        assert result.exit_code == 0, result.output
        assert "version: custom-2" in result.stdout
        assert "thresholds: 75%, 15m before the deadline, breach at 100%" in result.stdout
        assert "holidays: 2026-12-25" in result.stdout
        assert (
            "  basic  P1   2h00m  business-hours  near-breach 1h30m, 1h45m, breach 2h00m"
            in result.stdout
        )
