"""The SLA policy: first-response targets per tier and priority, business calendars, thresholds.

A policy is a YAML file validated strictly at start-up; `default_policy.yaml` (shipped with the
package) is the seed's Okta Premier Success matrix. Durations are written `30m`, `2h`, `1h30m`,
`90s`, `7d` or as a whole number of seconds. Every tier (basic, silver, gold) needs a target for
every priority (1-4). Thresholds are near-breach points before the implicit breach at 100%: a
fraction of the target in (0, 1), or `{before: D}`, a duration before the deadline. A `before`
duration as long as the target (or longer) means that threshold is due at the start: it is clamped
to 0 elapsed and fraction 0.0. `pending_event_retention` (default 7d) is how long events wait for
their `ticket.created`; `tombstone_retention` (default 30d) how long a stopped ticket stays a
tombstone that ignores every later event (a redelivered `ticket.created` too), both in event time.
to 0 elapsed and fraction 0.0.

Everything is bounded so that no later arithmetic overflows: a target is at most 365 days and at
most 10 years of its calendar's open time, a retention at most 10 years, the file at most 64 KiB.
Thresholds that would share an alert id (see `processor.domain.thresholds`) are refused. Valid but
suspicious settings (a window that wraps over the end of the week) are listed in `warnings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, Field, PrivateAttr, ValidationError, model_validator

from processor.domain._policy_yaml import (
    MAX_POLICY_BYTES,
    describe_errors,
    describe_yaml_error,
    parse_yaml,
)
from processor.domain.alerts import threshold_key
from processor.domain.calendar import BusinessCalendar
from processor.domain.durations import format_duration
from processor.domain.events import Tier
from processor.domain.policy_specs import (
    MAX_THRESHOLDS,
    MODEL_CONFIG,
    PRIORITIES,
    BeforeDeadline,
    CalendarSpec,
    Duration,
    MetricsSpec,
    ThresholdSpec,
    Tiers,
    TierSpec,
    WindowSpec,
    distinct,
)
from processor.domain.quoting import quote, shorten
from processor.domain.thresholds import Threshold, threshold_at, threshold_problems

__all__ = [
    "FIRST_RESPONSE",
    "PRIORITIES",
    "TIERS",
    "BeforeDeadline",
    "CalendarSpec",
    "Policy",
    "PolicyError",
    "Threshold",
    "Tier",
    "TierSpec",
    "Tiers",
    "WindowSpec",
    "default_policy",
    "load_policy",
    "parse_policy",
]

TIERS: tuple[Tier, ...] = get_args(Tier)
FIRST_RESPONSE = "first_response"
_MORE = ("next_reply", "resolution")
CalendarName = Annotated[str, Field(min_length=1, max_length=64)]
_MAX_WEEKS = 520  # a target may need at most ~10 years of its calendar's open time
_TOO_LARGE = f"the policy is larger than {MAX_POLICY_BYTES // 1024} KiB; nothing was read"
_MAX_PROBLEMS = 20  # listed in one error message; the number of the others follows


class PolicyError(ValueError):
    """An unusable policy file; `str()` names the file and lists every problem found."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class _CalendarCache:
    """Calendars built by one policy, per (tier, tz, country); the country only counts for a
    calendar whose holidays are `{country: from_ticket}`. Equal to any other, so a policy that has
    built calendars still equals one that has not; entries remember their spec, so a copy with
    different calendars does not reuse stale ones."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str | None], tuple[CalendarSpec, BusinessCalendar]] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _CalendarCache)

    __hash__ = None  # type: ignore[assignment]

    def get(self, tier: str, tz: str, spec: CalendarSpec, country: str | None) -> BusinessCalendar:
        key = (tier, tz, country if spec.from_ticket else None)
        entry = self._items.get(key)
        if entry is None or entry[0] is not spec:
            entry = self._items[key] = (spec, spec.build(tz, key[2]))
        return entry[1]


class Policy(BaseModel):
    """A validated, immutable SLA policy. See the module docstring for the file format."""

    model_config = MODEL_CONFIG
    version: Annotated[str, Field(min_length=1, max_length=128)]
    metric: Literal["first_response"] = "first_response"
    on_priority_change: Literal["from_creation", "from_change"] = "from_creation"
    pending_event_retention: Duration = timedelta(days=7)
    tombstone_retention: Duration = timedelta(days=30)
    solved_retention: Duration = timedelta(days=30)
    metrics: MetricsSpec | None = None
    thresholds: Annotated[
        list[ThresholdSpec], Field(max_length=MAX_THRESHOLDS), AfterValidator(distinct)
    ] = [0.75, 0.9]
    calendars: dict[CalendarName, CalendarSpec]
    tiers: Tiers
    _calendars: _CalendarCache = PrivateAttr(default_factory=_CalendarCache)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = [
            f"tiers.{tier}.calendar: unknown calendar {quote(spec.calendar)} "
            f"(this file defines: {shorten(', '.join(self.calendars) or 'none', 200)})"
            for tier, spec in self._tier_specs()
            if spec.calendar not in self.calendars
        ]
        problems = problems or self._span_problems()
        problems = problems or threshold_problems(self.thresholds, self._targets())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _span_problems(self) -> list[str]:
        """Targets that need more than `_MAX_WEEKS` weeks of their calendar's open time."""
        problems = []
        for metric, tier, targets in self._metric_tables():
            spec = self._tier(tier)
            open_per_week = self.calendars[spec.calendar].open_per_week()
            where = f"tiers.{tier}" if metric == FIRST_RESPONSE else f"metrics.{metric}.targets"
            for priority, target in targets.items():
                if target > open_per_week * _MAX_WEEKS:
                    problems.append(
                        f"{where}.{tier if metric != FIRST_RESPONSE else 'targets'}.{priority}: "
                        f"{format_duration(target, days=True)} "
                        f"of business time takes more than {_MAX_WEEKS // 52} years of calendar "
                        f"{quote(spec.calendar)} (open {format_duration(open_per_week)} a week)"
                    )
        return problems

    def _targets(self) -> dict[str, timedelta]:
        return {
            f"{_label(metric)}{tier} P{priority}": target
            for metric, tier, spec in self._metric_tables()
            for priority, target in spec.items()
        }

    def _metric_tables(self) -> list[tuple[str, Tier, dict[int, timedelta]]]:
        """(metric, tier, targets by priority) of every enabled metric."""
        tables = [(FIRST_RESPONSE, tier, dict(spec.targets)) for tier, spec in self._tier_specs()]
        for metric in self.metric_names[1:]:
            tables += [(metric, tier, self._metric_targets(metric, tier)) for tier in TIERS]
        return tables

    def _metric_targets(self, metric: str, tier: Tier) -> dict[int, timedelta]:
        spec = getattr(self.metrics, metric)
        targets: dict[int, timedelta] = getattr(spec.targets, tier)
        return targets

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The enabled metrics: first response, then next_reply and resolution if enabled."""
        extra = self.metrics
        if extra is None:
            return (FIRST_RESPONSE,)
        return (FIRST_RESPONSE, *(m for m in _MORE if getattr(extra, m) is not None))

    @property
    def pause_on(self) -> frozenset[str]:
        """Statuses during which the resolution clock does not run."""
        spec = None if self.metrics is None else self.metrics.resolution
        return frozenset(spec.pause_on) if spec is not None else frozenset()

    @property
    def needs_country(self) -> bool:
        """Whether some calendar takes its holidays from the ticket's country."""
        return any(spec.from_ticket for spec in self.calendars.values())

    @property
    def warnings(self) -> list[str]:
        """Valid but suspicious settings, one line each (e.g. a window that wraps)."""
        return [
            f"calendars.{shorten(name)}.{warning}"
            for name, spec in self.calendars.items()
            for warning in spec.warnings()
        ]

    def target(self, tier: Tier, priority: int, metric: str = "first_response") -> timedelta:
        """The target (business time) of `metric` for a tier and priority 1-4."""
        if metric == FIRST_RESPONSE:
            targets = self._tier(tier).targets
        elif metric in self.metric_names:
            self._tier(tier)  # checks the tier
            targets = self._metric_targets(metric, tier)
        else:
            raise ValueError(f"metric {metric!r} is not enabled by policy {self.version!r}")
        if priority not in targets:
            raise ValueError(f"priority {priority!r} is not one of 1-4")
        return targets[priority]

    def calendar(self, tier: Tier, tz: str, country: str | None = None) -> BusinessCalendar:
        """The tier's business calendar in IANA zone `tz` (and, for holidays `from_ticket`, the
        ticket's `country`), built once per (tier, tz, country)."""
        spec = self.calendars[self._tier(tier).calendar]
        return self._calendars.get(tier, tz, spec, country)

    def calendar_name(self, tier: Tier) -> str:
        return self._tier(tier).calendar

    def thresholds_for(self, target: timedelta) -> list[Threshold]:
        """Near-breach thresholds sorted by elapsed time (one per alert id), then the breach."""
        if target <= timedelta(0):
            raise ValueError(f"target must be longer than 0, got {target}")
        candidates = sorted(
            (threshold_at(spec, target) for spec in self.thresholds),
            key=lambda t: (t.elapsed, t.fraction),
        )
        # Thresholds with one id are the same alert here: the policy refuses those that are not.
        near: dict[str, Threshold] = {}
        for threshold in candidates:
            near.setdefault(threshold_key(threshold.fraction), threshold)
        return [*near.values(), Threshold(1.0, target)]

    def _tier(self, tier: Tier) -> TierSpec:
        if tier not in TIERS:
            raise ValueError(f"tier {tier!r} is not one of {', '.join(TIERS)}")
        spec: TierSpec = getattr(self.tiers, tier)
        return spec

    def _tier_specs(self) -> list[tuple[Tier, TierSpec]]:
        return [(tier, self._tier(tier)) for tier in TIERS]


# --- loading --------------------------------------------------------------------------------------


def _label(metric: str) -> str:
    return "" if metric == FIRST_RESPONSE else f"{metric} "


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in the YAML file at `path`, or the shipped default if `path` is None.

    Raises `PolicyError` naming the file and listing every problem found.
    """
    if path is None:
        return default_policy()
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)  # a larger file is refused unread
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"{path}: {_TOO_LARGE}")
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """The policy in YAML `text`; `source` names it in error messages."""
    if len(text) > MAX_POLICY_BYTES or len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise PolicyError(f"{source}: {_TOO_LARGE}")
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {describe_yaml_error(exc)}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping of policy settings (version, tiers, ...)")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [line for problem in describe_errors(exc) for line in problem.split("\n")]
        listing = [f"  - {problem}" for problem in problems[:_MAX_PROBLEMS]]
        if len(problems) > _MAX_PROBLEMS:
            listing.append(f"  ... and {len(problems) - _MAX_PROBLEMS} more")
        raise PolicyError(f"{source}: invalid policy:\n" + "\n".join(listing), problems) from None


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The shipped default policy: the seed's Okta Premier Success matrix."""
    resource = files("processor.domain").joinpath("default_policy.yaml")
    return parse_policy(resource.read_text(encoding="utf-8"), "default_policy.yaml (shipped)")
