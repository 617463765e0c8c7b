"""The parts of a policy file: field types with readable validation errors, and the models for
calendars, windows and tiers. `processor.domain.policy` assembles them into `Policy`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    model_validator,
)

from processor.domain.calendar import AlwaysOpen, BusinessCalendar, WeeklyCalendar, WeeklyWindow
from processor.domain.durations import format_duration, parse_duration
from processor.domain.quoting import quote

__all__ = [
    "MAX_RETENTION",
    "MAX_TARGET",
    "MAX_THRESHOLDS",
    "MODEL_CONFIG",
    "PRIORITIES",
    "BeforeDeadline",
    "CalendarSpec",
    "Duration",
    "LocalDate",
    "Target",
    "ThresholdSpec",
    "TierSpec",
    "Tiers",
    "WeekTime",
    "WindowSpec",
    "distinct",
    "parse_week_time",
]

PRIORITIES = (1, 2, 3, 4)
MODEL_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True)
MAX_TARGET = timedelta(days=365)
"""Longest target (and `before` duration): deadlines stay far from `datetime`'s limits."""
MAX_RETENTION = timedelta(days=3650)
"""Longest retention or other horizon (about 10 years)."""
_REFERENCE_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)


# --- field types ----------------------------------------------------------------------------------


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be longer than 0, got {format_duration(value)}")
    return value


def _within(value: timedelta, limit: timedelta) -> timedelta:
    if value > limit:
        raise ValueError(
            f"{format_duration(value, days=True)} is longer than the limit of "
            f"{format_duration(limit, days=True)}"
        )
    return value


def _retention_length(value: timedelta) -> timedelta:
    return _within(value, MAX_RETENTION)


def _target_length(value: timedelta) -> timedelta:
    return _within(value, MAX_TARGET)


_PARSED = BeforeValidator(parse_duration)
Duration = Annotated[
    timedelta, _PARSED, AfterValidator(_positive), AfterValidator(_retention_length)
]
"""A positive duration of at most `MAX_RETENTION` (retentions and horizons)."""
Target = Annotated[timedelta, _PARSED, AfterValidator(_positive), AfterValidator(_target_length)]
"""A positive duration of at most `MAX_TARGET` (targets)."""


def _local_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{quote(value)} is not a date: {exc}") from None
    raise ValueError(
        f"{quote(value)} is not a local date; write YYYY-MM-DD, e.g. 2026-12-25 (a holiday is a "
        "whole day in the ticket's time zone, so it has no time or offset)"
    )


LocalDate = Annotated[date, BeforeValidator(_local_date)]

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK_TIME = re.compile(r"([a-z]+)\s+(\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_week_time(text: str) -> tuple[int, time]:
    """`'mon 00:01'` -> (0, time(0, 1)). Days by name (mon/monday .. sun/sunday), 24-hour time."""
    match = _WEEK_TIME.fullmatch(text.strip().lower())
    if match:
        name, hour, minute, second = match.groups()
        days = [n for n, day in enumerate(_DAYS) if name in (day, day[:3])]
        if days and int(hour) < 24 and int(minute) < 60 and int(second or 0) < 60:
            return days[0], time(int(hour), int(minute), int(second or 0))
    raise ValueError(
        f"{quote(text)} is not a weekly time; write a day and a 24-hour local time, "
        "e.g. 'mon 00:01'"
    )


def _week_time(text: str) -> str:
    parse_week_time(text)
    return text


WeekTime = Annotated[str, AfterValidator(_week_time)]


@dataclass(frozen=True)
class BeforeDeadline:
    """A near-breach threshold a fixed duration before the deadline (`{before: 15m}`)."""

    before: timedelta


def _threshold_spec(value: object) -> float | BeforeDeadline:
    if isinstance(value, BeforeDeadline):
        return value
    if isinstance(value, dict):
        if set(value) != {"before"}:
            raise ValueError(f"{quote(value)} is not a threshold; write {{before: 15m}}")
        before = _positive(parse_duration(value["before"]))
        return BeforeDeadline(_target_length(before))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 < value < 1:
            raise ValueError(
                f"fraction {value} is not between 0 and 1 (exclusive); "
                "the breach at 1.0 is implicit"
            )
        return float(value)
    raise ValueError(
        f"{quote(value)} is not a threshold; write a fraction like 0.75 or {{before: 15m}}"
    )


ThresholdSpec = Annotated[float | BeforeDeadline, PlainValidator(_threshold_spec)]
MAX_THRESHOLDS = 20
"""Most near-breach thresholds a policy lists."""


def distinct(specs: list[float | BeforeDeadline]) -> list[float | BeforeDeadline]:
    repeated = sorted({str(s) for s in specs if specs.count(s) > 1})
    if repeated:
        raise ValueError(f"listed more than once: {', '.join(repeated)}")
    return specs


def _priorities(value: object) -> object:
    if not isinstance(value, dict):
        return value  # pydantic reports the wrong type
    problems = [
        f"priority {quote(key)} is not one of 1-4"
        for key in value
        if isinstance(key, bool) or key not in PRIORITIES
    ]
    problems += [f"priority {p} is missing" for p in PRIORITIES if p not in value]
    if problems:
        raise ValueError("; ".join(problems))
    return value


# --- models ---------------------------------------------------------------------------------------


class WindowSpec(BaseModel):
    """A weekly window in local time, e.g. `{from: "mon 00:01", to: "fri 23:59"}`."""

    model_config = MODEL_CONFIG
    start: WeekTime = Field(alias="from")
    end: WeekTime = Field(alias="to")

    @model_validator(mode="after")
    def _not_empty(self) -> WindowSpec:
        self.window()
        return self

    def window(self) -> WeeklyWindow:
        try:
            return WeeklyWindow(*parse_week_time(self.start), *parse_week_time(self.end))
        except ValueError:
            raise ValueError(f"window {self.start} -> {self.end} is empty") from None


class CalendarSpec(BaseModel):
    """`{type: always}` (24x7) or `{type: weekly, windows: [...], holidays: [YYYY-MM-DD, ...]}`."""

    model_config = MODEL_CONFIG
    type: Literal["always", "weekly"]
    # Bounded so that building a week of the calendar stays cheap.
    windows: list[WindowSpec] = Field(default_factory=list, max_length=50)
    holidays: list[LocalDate] = Field(default_factory=list, max_length=2000)

    @model_validator(mode="after")
    def _shape(self) -> CalendarSpec:
        if self.type == "weekly" and not self.windows:
            raise ValueError(
                "a weekly calendar needs at least one window, e.g. "
                "windows: [{from: 'mon 00:01', to: 'fri 23:59'}]"
            )
        if self.type == "always" and (self.windows or self.holidays):
            raise ValueError("an 'always' calendar is open 24x7: it takes no windows or holidays")
        return self

    def open_per_week(self) -> timedelta:
        """Open time in a week without holidays or DST changes (7 days for `always`)."""
        if self.type == "always":
            return timedelta(days=7)
        week = WeeklyCalendar("UTC", [spec.window() for spec in self.windows])
        return week.between(_REFERENCE_MONDAY, _REFERENCE_MONDAY + timedelta(days=7))

    def warnings(self) -> list[str]:
        """`windows.N: ...` for each window that wraps over the end of the week (its end is
        earlier in the week than its start): valid, but `mon 09:00 -> mon 08:00` is more often a
        slip than a 6-day window."""
        return [
            f"windows.{n}: window {spec.start} -> {spec.end} wraps over the end of the week, so "
            f"it is open {format_duration(window.end_offset - window.start_offset)} a week; "
            "check the order of 'from' and 'to'"
            for n, spec in enumerate(self.windows)
            if (window := spec.window()).wraps
        ]

    def build(self, tz: str) -> BusinessCalendar:
        """The calendar in the IANA zone `tz` (ignored by `always`)."""
        if self.type == "always":
            return AlwaysOpen()
        return WeeklyCalendar(tz, [spec.window() for spec in self.windows], self.holidays)


class TierSpec(BaseModel):
    model_config = MODEL_CONFIG
    calendar: str
    targets: Annotated[dict[int, Target], BeforeValidator(_priorities)]


class Tiers(BaseModel):
    model_config = MODEL_CONFIG
    basic: TierSpec
    silver: TierSpec
    gold: TierSpec
