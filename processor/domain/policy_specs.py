"""The parts of a policy file: field types with readable validation errors, and the models for
calendars, windows and tiers. `processor.domain.policy` assembles them into `Policy`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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

__all__ = [
    "MODEL_CONFIG",
    "PRIORITIES",
    "BeforeDeadline",
    "CalendarSpec",
    "Duration",
    "LocalDate",
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


# --- field types ----------------------------------------------------------------------------------


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be longer than 0, got {format_duration(value)}")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


def _local_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date: {exc}") from None
    raise ValueError(
        f"{value!r} is not a local date; write YYYY-MM-DD, e.g. 2026-12-25 (a holiday is a whole "
        "day in the ticket's time zone, so it has no time or offset)"
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
        f"{text!r} is not a weekly time; write a day and a 24-hour local time, e.g. 'mon 00:01'"
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
            raise ValueError(f"{value!r} is not a threshold; write {{before: 15m}}")
        return BeforeDeadline(_positive(parse_duration(value["before"])))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 < value < 1:
            raise ValueError(
                f"fraction {value} is not between 0 and 1 (exclusive); "
                "the breach at 1.0 is implicit"
            )
        return float(value)
    raise ValueError(f"{value!r} is not a threshold; write a fraction like 0.75 or {{before: 15m}}")


ThresholdSpec = Annotated[float | BeforeDeadline, PlainValidator(_threshold_spec)]


def distinct(specs: list[float | BeforeDeadline]) -> list[float | BeforeDeadline]:
    repeated = sorted({str(s) for s in specs if specs.count(s) > 1})
    if repeated:
        raise ValueError(f"listed more than once: {', '.join(repeated)}")
    return specs


def _priorities(value: object) -> object:
    if not isinstance(value, dict):
        return value  # pydantic reports the wrong type
    problems = [
        f"priority {key!r} is not one of 1-4"
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
    windows: list[WindowSpec] = Field(default_factory=list)
    holidays: list[LocalDate] = Field(default_factory=list)

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

    def build(self, tz: str) -> BusinessCalendar:
        """The calendar in the IANA zone `tz` (ignored by `always`)."""
        if self.type == "always":
            return AlwaysOpen()
        return WeeklyCalendar(tz, [spec.window() for spec in self.windows], self.holidays)


class TierSpec(BaseModel):
    model_config = MODEL_CONFIG
    calendar: str
    targets: Annotated[dict[int, Duration], BeforeValidator(_priorities)]


class Tiers(BaseModel):
    model_config = MODEL_CONFIG
    basic: TierSpec
    silver: TierSpec
    gold: TierSpec
