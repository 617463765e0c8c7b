"""The SLA policy: the shipped default is the seed, bad files give readable errors, thresholds add
up, and the `policy` CLI prints what a policy means."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sla_helpers import created, replay

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


def test_before_threshold_fraction_is_rounded() -> None:
    policy = parse_policy(edited("  - 0.90 ", "  - {before: 10s}\n  - {before: 7m}"))
    near = policy.thresholds_for(24 * H)
    # (24h - 7m) / 24h = 0.995138... -> 0.9951; (24h - 10s) / 24h = 0.99988... -> 0.9999.
    assert [t.fraction for t in near] == [0.75, 0.9951, 0.9999, 1.0]
    assert near[2].elapsed == 24 * H - timedelta(seconds=10)
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


# --- bounded parsing ------------------------------------------------------------------------------


def alias_bomb(levels: int) -> str:
    """A few hundred bytes that expand to 9**levels strings when aliases are followed."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + f"\nversion: *a{levels}\n"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    text = alias_bomb(6)  # 531,441 strings (a 25 MB error message before this was refused)
    assert len(text) < 1000
    message = problems_of(tmp_path, text)
    assert message.endswith(
        ": not valid YAML: anchors and aliases (&name, *name) are not allowed in a policy file; "
        "write each value out (line 1, column 5)"
    ), message
    assert "\n" not in message


def test_an_alias_alone_or_an_anchor_alone_is_refused(tmp_path: Path) -> None:
    anchored = edited("tiers:\n", "tiers: &t\n")
    assert "anchors and aliases" in problems_of(tmp_path, anchored)
    aliased = DEFAULT_TEXT.replace("  business-hours:", "  biz: *x\n  business-hours:")
    assert "anchors and aliases" in problems_of(tmp_path, aliased)


def test_a_policy_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    text = DEFAULT_TEXT + "# padding\n" * 7000  # 70 KB of comments: valid YAML, too large
    message = problems_of(tmp_path, text)
    assert message.endswith(": the policy is larger than 64 KiB; nothing was read"), message
    with pytest.raises(PolicyError, match="larger than 64 KiB"):
        parse_policy(text)


def test_yaml_errors_are_one_line_and_quote_keys_short(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "version: [")
    assert message.endswith(
        "not valid YAML: while parsing a flow node: expected the node content, "
        "but found '<stream end>' (line 1, column 11)"
    ), message
    long_key = "k" * 1000  # YAML allows at most 1024 characters in a plain key
    message = problems_of(tmp_path, f"{long_key}: 1\n{long_key}: 2\n")
    assert f"duplicate key '{'k' * 39}…" in message and len(message) < 300, message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("from_creation ", "x" * 5000 + " ", "on_priority_change: must be 'from_creation' or "),
        ("{1: 2h,", "{1: " + "x" * 5000 + ",", "tiers.basic.targets.1: 'xxxx"),
        ("calendar: business-hours", "calendar: " + "c" * 5000, "unknown calendar 'cccc"),
        ("holidays: []", "holidays: [" + "9" * 5000 + "]", "the number '9999"),
        ("holidays: []", "holidays: ['" + "9" * 5000 + "']", "holidays.0: '9999"),
        ('from: "mon 00:01"', 'from: "' + "m" * 5000 + '"', "windows.0.from: 'mmmm"),
        ("  - 0.75 ", "  - " + "t" * 5000 + " ", "thresholds.0: 'tttt"),
    ],
)
def test_errors_quote_at_most_a_short_prefix_of_a_value(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    message = problems_of(tmp_path, edited(old, new))
    problem = next(line for line in message.splitlines() if expected in line)
    assert "…" in problem and len(problem) < 250, problem


# --- bounded durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("{1: 2h,", "{1: 99999999999d,", "tiers.basic.targets.1: '99999999999d' is too long"),
        ("{1: 2h,", "{1: 1000000000000000000000000,", "tiers.basic.targets.1: 1000000000000000000"),
        ("{1: 2h,", "{1: 3000000d,", "tiers.basic.targets.1: '3000000d' is too long"),
        (
            "{1: 2h,",
            "{1: 36500d,",
            "tiers.basic.targets.1: 36500d is longer than the limit of 365d",
        ),
        ("{1: 2h,", "{1: 366d,", "tiers.basic.targets.1: 366d is longer than the limit of 365d"),
        (
            "pending_event_retention: 7d",
            "pending_event_retention: 99999999999d",
            "pending_event_retention: '99999999999d' is too long",
        ),
        (
            "pending_event_retention: 7d",
            "pending_event_retention: 3651d",
            "pending_event_retention: 3651d is longer than the limit of 3650d",
        ),
        ("  - 0.90 ", "  - {before: 99999999999d}", "thresholds.1: '99999999999d' is too long"),
        ("  - 0.90 ", "  - {before: 400d}", "thresholds.1: 400d is longer than the limit of 365d"),
    ],
)
def test_durations_are_bounded_at_check_time(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert expected in problems_of(tmp_path, edited(old, new))


def test_policy_check_reports_an_overflowing_duration_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(edited("{1: 2h,", "{1: 99999999999d,"), encoding="utf-8")
    result = CliRunner().invoke(policy_cli, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}: invalid policy:\n  - tiers.basic.targets.1: '99999999999d' is too long; "
        "at most 36500d\n"
    )


def test_a_target_needing_more_than_ten_years_of_its_calendar_is_refused(tmp_path: Path) -> None:
    text = edited('to: "fri 23:59"', 'to: "mon 00:02"').replace("{1: 2h,", "{1: 1d,")
    message = problems_of(tmp_path, text)
    assert (
        "tiers.basic.targets.1: 1d of business time takes more than 10 years of calendar "
        "'business-hours' (open 1m a week)"
    ) in message


def test_the_longest_targets_allowed_do_not_overflow_from_the_latest_instant() -> None:
    # 17h a week: 365 days of business time take 515 weeks, just under the 520-week bound.
    text = edited('to: "fri 23:59"', 'to: "mon 17:01"').replace("{1: 2h,", "{1: 365d,")
    policy = parse_policy(text.replace("{1: 30m,", "{1: 365d,"))
    latest = datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC)
    for tier in ("basic", "gold"):
        calendar = policy.calendar(tier, "Pacific/Kiritimati")  # type: ignore[arg-type]
        deadline = calendar.add(latest, policy.target(tier, 1))  # type: ignore[arg-type]
        assert latest < deadline < datetime(9011, 1, 1, tzinfo=UTC)


# --- thresholds that would share an alert id ------------------------------------------------------


def test_fractions_equal_at_four_decimals_are_refused(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("  - 0.75 ", "  - 0.90001 ").replace("0.90 ", "0.90004"))
    assert (
        "thresholds: fractions 0.90001 and 0.90004 both read 0.9000 in alert ids (4 decimals); "
        "keep one"
    ) in message


def test_a_fraction_reading_as_the_breach_is_refused(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("  - 0.90 ", "  - 0.99996 "))
    assert "thresholds: fraction 0.99996 reads 1.0000 in alert ids, the breach's" in message


def test_a_before_threshold_with_the_id_of_another_but_a_different_time_is_refused(
    tmp_path: Path,
) -> None:
    # gold P1 5h33m21s = 20,001 s: 5,000 s before = 15,001 s = 0.750012 -> 0.7500, while 0.75 of
    # the target is 15,000.75 s: two alerts, one id.
    text = edited("  - 0.90 ", "  - {before: 5000s}").replace("{1: 30m,", "{1: 5h33m21s,")
    message = problems_of(tmp_path, text)
    assert (
        "thresholds: 0.75 and {before: 1h23m20s} both read 0.7500 in alert ids for gold P1 "
        "(target 5h33m21s) but fall due at different times; change one"
    ) in message


def test_a_before_threshold_reading_as_the_breach_is_refused(tmp_path: Path) -> None:
    message = problems_of(tmp_path, edited("  - 0.90 ", "  - {before: 1s}"))
    assert (
        "thresholds: {before: 1s} is due so close to the breach for basic P2 (target 12h00m) that "
        "it would read 1.0000 in alert ids; use a longer duration"
    ) in message
    assert message.count("{before: 1s}") == 1  # reported once, not once per target


def test_thresholds_that_are_the_same_alert_are_kept_once() -> None:
    # 15m before a 1h target is 45m = 0.75 of it: the same fraction and time, one alert.
    policy = parse_policy(edited("  - 0.90 ", "  - {before: 15m}"))
    assert policy.thresholds_for(H) == [Threshold(0.75, 45 * M), Threshold(1.0, H)]


# --- warnings -------------------------------------------------------------------------------------


def test_a_window_that_wraps_is_accepted_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "wrap.yaml"
    path.write_text(
        edited('{from: "mon 00:01", to: "fri 23:59"}', '{from: "mon 09:00", to: "mon 08:00"}')
    )
    policy = load_policy(path)
    expected = (
        "calendars.business-hours.windows.0: window mon 09:00 -> mon 08:00 wraps over the end of "
        "the week, so it is open 167h00m a week; check the order of 'from' and 'to'"
    )
    assert policy.warnings == [expected]
    for args in (["check", str(path)], ["show", "--policy", str(path)]):
        result = CliRunner().invoke(policy_cli, args)
        assert result.exit_code == 0, result.output
        assert result.stderr == f"warning: {expected}\n"
    assert default_policy().warnings == []


def test_replay_with_the_longest_targets_from_the_latest_instant_raises_every_alert() -> None:
    text = edited('to: "fri 23:59"', 'to: "mon 17:01"')
    for old in ("{1: 2h, 2: 12h, 3: 24h, 4: 24h}", "{1: 30m, 2: 1h, 3: 4h, 4: 24h}"):
        text = text.replace(old, "{1: 365d, 2: 365d, 3: 365d, 4: 365d}")
    policy = parse_policy(text)
    events = [
        created("T-basic", "8999-12-31T23:59:59+14:00", "basic", 1, tz="Pacific/Kiritimati"),
        created("T-gold", "8999-12-31T23:59:59Z", "gold", 4),
    ]
    alerts = replay(events, until="9011-01-01T00:00:00+00:00", policy=policy)
    assert sorted((a.ticket_id, a.threshold) for a in alerts) == [
        (ticket, fraction) for ticket in ("T-basic", "T-gold") for fraction in (0.75, 0.9, 1.0)
    ]
    assert max(a.due_at for a in alerts) < datetime(9011, 1, 1, tzinfo=UTC)
