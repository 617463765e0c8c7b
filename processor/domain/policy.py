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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, Field, PrivateAttr, ValidationError, model_validator

from processor.domain._policy_yaml import describe_errors, parse_yaml
from processor.domain.calendar import BusinessCalendar
from processor.domain.events import Tier
from processor.domain.policy_specs import (
    MODEL_CONFIG,
    PRIORITIES,
    BeforeDeadline,
    CalendarSpec,
    Duration,
    ThresholdSpec,
    Tiers,
    TierSpec,
    WindowSpec,
    distinct,
)

__all__ = [
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
_US = timedelta(microseconds=1)


class PolicyError(ValueError):
    """An unusable policy file; `str()` names the file and lists every problem found."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class Threshold:
    """A point of the SLA clock: due once `elapsed` business time has run since the start.

    `fraction` is what alerts report: as written for fraction thresholds, 1.0 for the breach,
    (target - before) / target rounded to 4 decimals for `before` thresholds.
    """

    fraction: float
    elapsed: timedelta

    @property
    def is_breach(self) -> bool:
        return self.fraction == 1.0


class _CalendarCache:
    """Calendars built by one policy, per (tier, tz). Equal to any other, so a policy that has
    built calendars still equals one that has not; entries remember their spec, so a copy with
    different calendars does not reuse stale ones."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], tuple[CalendarSpec, BusinessCalendar]] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _CalendarCache)

    __hash__ = None  # type: ignore[assignment]

    def get(self, tier: str, tz: str, spec: CalendarSpec) -> BusinessCalendar:
        entry = self._items.get((tier, tz))
        if entry is None or entry[0] is not spec:
            entry = self._items[(tier, tz)] = (spec, spec.build(tz))
        return entry[1]


class Policy(BaseModel):
    """A validated, immutable SLA policy. See the module docstring for the file format."""

    model_config = MODEL_CONFIG
    version: Annotated[str, Field(min_length=1)]
    metric: Literal["first_response"] = "first_response"
    on_priority_change: Literal["from_creation", "from_change"] = "from_creation"
    pending_event_retention: Duration = timedelta(days=7)
    tombstone_retention: Duration = timedelta(days=30)
    thresholds: Annotated[list[ThresholdSpec], AfterValidator(distinct)] = [0.75, 0.9]
    calendars: dict[str, CalendarSpec]
    tiers: Tiers
    _calendars: _CalendarCache = PrivateAttr(default_factory=_CalendarCache)

    @model_validator(mode="after")
    def _calendars_exist(self) -> Policy:
        problems = [
            f"tiers.{tier}.calendar: unknown calendar {spec.calendar!r} "
            f"(this file defines: {', '.join(self.calendars) or 'none'})"
            for tier, spec in self._tier_specs()
            if spec.calendar not in self.calendars
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def target(self, tier: Tier, priority: int) -> timedelta:
        """The first-response target (business time) for a tier and priority 1-4."""
        targets = self._tier(tier).targets
        if priority not in targets:
            raise ValueError(f"priority {priority!r} is not one of 1-4")
        return targets[priority]

    def calendar(self, tier: Tier, tz: str) -> BusinessCalendar:
        """The tier's business calendar in IANA zone `tz`, built once per (tier, tz)."""
        return self._calendars.get(tier, tz, self.calendars[self._tier(tier).calendar])

    def calendar_name(self, tier: Tier) -> str:
        return self._tier(tier).calendar

    def thresholds_for(self, target: timedelta) -> list[Threshold]:
        """Near-breach thresholds sorted by elapsed time (one per fraction), then the breach."""
        if target <= timedelta(0):
            raise ValueError(f"target must be longer than 0, got {target}")
        candidates = sorted(
            (_threshold(spec, target) for spec in self.thresholds),
            key=lambda t: (t.elapsed, t.fraction),
        )
        near: dict[float, Threshold] = {}
        for threshold in candidates:
            near.setdefault(threshold.fraction, threshold)
        return [*near.values(), Threshold(1.0, target)]

    def _tier(self, tier: Tier) -> TierSpec:
        if tier not in TIERS:
            raise ValueError(f"tier {tier!r} is not one of {', '.join(TIERS)}")
        spec: TierSpec = getattr(self.tiers, tier)
        return spec

    def _tier_specs(self) -> list[tuple[Tier, TierSpec]]:
        return [(tier, self._tier(tier)) for tier in TIERS]


def _threshold(spec: float | BeforeDeadline, target: timedelta) -> Threshold:
    target_us = target // _US
    if isinstance(spec, BeforeDeadline):
        elapsed_us = max(target_us - spec.before // _US, 0)
        # Round half up to 4 decimals; below 1.0 so it never reads as the breach.
        ten_thousandths = min((20_000 * elapsed_us + target_us) // (2 * target_us), 9_999)
        return Threshold(ten_thousandths / 10_000, timedelta(microseconds=elapsed_us))
    # The fraction as written (0.9, not the binary float 0.90000000000000002...), exactly,
    # rounded half up to whole microseconds.
    numerator, denominator = Decimal(repr(spec)).as_integer_ratio()
    elapsed_us = (2 * target_us * numerator + denominator) // (2 * denominator)
    return Threshold(spec, timedelta(microseconds=elapsed_us))


# --- loading --------------------------------------------------------------------------------------


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in the YAML file at `path`, or the shipped default if `path` is None.

    Raises `PolicyError` naming the file and listing every problem found.
    """
    if path is None:
        return default_policy()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """The policy in YAML `text`; `source` names it in error messages."""
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        where = str(exc).replace('in "<unicode string>", ', "")  # the source is named already
        raise PolicyError(f"{source}: not valid YAML: {where}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping of policy settings (version, tiers, ...)")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [line for problem in describe_errors(exc) for line in problem.split("\n")]
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise PolicyError(f"{source}: invalid policy:\n{listing}", problems) from None


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The shipped default policy: the seed's Okta Premier Success matrix."""
    resource = files("processor.domain").joinpath("default_policy.yaml")
    return parse_policy(resource.read_text(encoding="utf-8"), "default_policy.yaml (shipped)")
