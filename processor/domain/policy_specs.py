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
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    model_validator,
)

from processor.domain.calendar import AlwaysOpen, BusinessCalendar, WeeklyCalendar, WeeklyWindow
from processor.domain.durations import format_duration, parse_duration
from processor.domain.holidays import country_holidays, country_problem
from processor.domain.quoting import quote

__all__ = [
    "MAX_RETENTION",
    "MAX_TARGET",
    "MAX_THRESHOLDS",
    "MODEL_CONFIG",
    "PRIORITIES",
    "BeforeDeadline",
    "CalendarSpec",
    "CountryHolidays",
    "Duration",
    "LocalDate",
    "MetricsSpec",
    "NextReplySpec",
    "ResolutionSpec",
    "Target",
    "ThresholdSpec",
    "TierSpec",
    "TierTargets",
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


class CountryHolidays(BaseModel):
    """`{country: FR}`, `{country: US, subdivision: NY, dates: [2026-12-24]}` or
    `{country: from_ticket}` (the `country` of the ticket's `ticket.created`): the public
    holidays of the `holidays` package (pinned: its data moves deadlines), plus `dates`."""

    model_config = MODEL_CONFIG
    country: Annotated[str, Field(pattern=r"^([A-Z]{2}|from_ticket)$")]
    subdivision: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    dates: list[LocalDate] = Field(default_factory=list, max_length=2000)

    @model_validator(mode="after")
    def _known(self) -> CountryHolidays:
        if self.country == "from_ticket":
            if self.subdivision is not None:
                raise ValueError("a subdivision needs a fixed country, not from_ticket")
            return self
        problem = country_problem(self.country, self.subdivision)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def from_ticket(self) -> bool:
        return self.country == "from_ticket"


HOLIDAY_FORMS = ("<dates>", "<country>")
"""Tags of the two forms of `holidays` (left out of the locations of error messages)."""


def _holidays_form(value: object) -> str:
    return HOLIDAY_FORMS[isinstance(value, dict | CountryHolidays)]


HolidaysSpec = Annotated[
    Annotated[Annotated[list[LocalDate], Field(max_length=2000)], Tag(HOLIDAY_FORMS[0])]
    | Annotated[CountryHolidays, Tag(HOLIDAY_FORMS[1])],
    Discriminator(_holidays_form),
]


class CalendarSpec(BaseModel):
    """`{type: always}` (24x7) or `{type: weekly, windows: [...], holidays: ...}`, where
    `holidays` is a list of local dates or a `CountryHolidays` mapping."""

    model_config = MODEL_CONFIG
    type: Literal["always", "weekly"]
    # Bounded so that building a week of the calendar stays cheap.
    windows: list[WindowSpec] = Field(default_factory=list, max_length=50)
    holidays: HolidaysSpec = Field(default_factory=list)

    @property
    def dates(self) -> list[date]:
        """The explicit holiday dates (of either form)."""
        return self.holidays.dates if isinstance(self.holidays, CountryHolidays) else self.holidays

    @property
    def from_ticket(self) -> bool:
        """Whether the holidays depend on the ticket's country."""
        return isinstance(self.holidays, CountryHolidays) and self.holidays.from_ticket

    @model_validator(mode="after")
    def _shape(self) -> CalendarSpec:
        if self.type == "weekly" and not self.windows:
            raise ValueError(
                "a weekly calendar needs at least one window, e.g. "
                "windows: [{from: 'mon 00:01', to: 'fri 23:59'}]"
            )
        if self.type == "always" and (self.windows or self.holidays != []):
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

    def build(self, tz: str, country: str | None = None) -> BusinessCalendar:
        """The calendar in the IANA zone `tz` (ignored by `always`); `country` is the ticket's,
        used by `{country: from_ticket}` only (an unknown or missing one adds no holidays)."""
        if self.type == "always":
            return AlwaysOpen()
        windows = [spec.window() for spec in self.windows]
        spec = self.holidays
        if not isinstance(spec, CountryHolidays):
            return WeeklyCalendar(tz, windows, spec)
        code = country if spec.from_ticket else spec.country
        public = None if code is None else country_holidays(code, spec.subdivision)
        return WeeklyCalendar(tz, windows, spec.dates, public)


class TierSpec(BaseModel):
    model_config = MODEL_CONFIG
    calendar: str
    targets: Annotated[dict[int, Target], BeforeValidator(_priorities)]


class Tiers(BaseModel):
    model_config = MODEL_CONFIG
    basic: TierSpec
    silver: TierSpec
    gold: TierSpec


class TierTargets(BaseModel):
    """Targets of one metric for every tier and priority (`{basic: {1: 4h, ...}, ...}`)."""

    model_config = MODEL_CONFIG
    basic: Annotated[dict[int, Target], BeforeValidator(_priorities)]
    silver: Annotated[dict[int, Target], BeforeValidator(_priorities)]
    gold: Annotated[dict[int, Target], BeforeValidator(_priorities)]


PauseStatus = Literal["pending", "on_hold"]


def _distinct_statuses(values: list[PauseStatus]) -> list[PauseStatus]:
    if len(set(values)) != len(values):
        raise ValueError(f"listed more than once: {', '.join(sorted(values))}")
    return values


class NextReplySpec(BaseModel):
    """`next_reply: {targets: ...}`: a cycle per customer reply, to the next public response."""

    model_config = MODEL_CONFIG
    targets: TierTargets


class ResolutionSpec(BaseModel):
    """`resolution: {targets: ..., pause_on: [pending, on_hold]}`: creation to solved/closed,
    not counting business time while the status is in `pause_on`."""

    model_config = MODEL_CONFIG
    targets: TierTargets
    pause_on: Annotated[list[PauseStatus], AfterValidator(_distinct_statuses)] = [
        "pending",
        "on_hold",
    ]


class MetricsSpec(BaseModel):
    """The policy's `metrics:` section: the metrics besides first response it enables."""

    model_config = MODEL_CONFIG
    next_reply: NextReplySpec | None = None
    resolution: ResolutionSpec | None = None
