"""Threshold arithmetic: when a threshold of a policy falls due for one target, and the check that
no two thresholds of one target share an alert id while falling due at different times.

An alert id carries the threshold as `threshold_key(fraction)` (4 decimals). Two thresholds whose
keys are equal but whose elapsed times differ would raise two different alerts with one id, so a
consumer that dedupes on the id would drop one; a near-breach that reads `1.0000` would share the
breach's id. Thresholds with the same key and the same elapsed time are the same alert: kept once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from processor.domain.alerts import threshold_key
from processor.domain.durations import format_duration
from processor.domain.policy_specs import BeforeDeadline

__all__ = ["BREACH_KEY", "Threshold", "describe_spec", "threshold_at", "threshold_problems"]

_US = timedelta(microseconds=1)
BREACH_KEY = threshold_key(1.0)

Spec = float | BeforeDeadline


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


def threshold_at(spec: Spec, target: timedelta) -> Threshold:
    """The threshold `spec` for `target` (> 0). A `before` as long as the target or longer is
    clamped to 0 elapsed and fraction 0.0."""
    target_us = target // _US
    if isinstance(spec, BeforeDeadline):
        elapsed_us = max(target_us - spec.before // _US, 0)
        # Below 1.0 so it never reads as the breach (a policy where it would is refused).
        ten_thousandths = min(_ten_thousandths(elapsed_us, target_us), 9_999)
        return Threshold(ten_thousandths / 10_000, timedelta(microseconds=elapsed_us))
    # The fraction as written (0.9, not the binary float 0.90000000000000002...), exactly,
    # rounded half up to whole microseconds.
    numerator, denominator = Decimal(repr(spec)).as_integer_ratio()
    elapsed_us = (2 * target_us * numerator + denominator) // (2 * denominator)
    return Threshold(spec, timedelta(microseconds=elapsed_us))


def _ten_thousandths(elapsed_us: int, target_us: int) -> int:
    """elapsed / target in ten-thousandths, rounded half up."""
    return (20_000 * elapsed_us + target_us) // (2 * target_us)


def describe_spec(spec: Spec) -> str:
    if isinstance(spec, BeforeDeadline):
        return f"{{before: {format_duration(spec.before)}}}"
    return repr(spec)


def threshold_problems(specs: Sequence[Spec], targets: Mapping[str, timedelta]) -> list[str]:
    """One line per threshold that would share an alert id with another threshold (or with the
    breach) for some target; `targets` maps a label such as `gold P1` to its target."""
    problems = _fraction_problems([s for s in specs if not isinstance(s, BeforeDeadline)])
    reported: set[tuple[str, ...]] = set()
    for label, target in targets.items():
        for problem, pair in _target_problems(specs, label, target):
            if pair not in reported:
                reported.add(pair)
                problems.append(problem)
    return problems


def _fraction_problems(fractions: Sequence[float]) -> list[str]:
    problems, seen = [], dict[str, float]()
    for fraction in fractions:
        key = threshold_key(fraction)
        if key == BREACH_KEY:
            problems.append(
                f"thresholds: fraction {fraction!r} reads {key} in alert ids, the breach's; "
                "use at most 0.9999"
            )
        elif key in seen and seen[key] != fraction:
            problems.append(
                f"thresholds: fractions {seen[key]!r} and {fraction!r} both read {key} in alert "
                "ids (4 decimals); keep one"
            )
        seen.setdefault(key, fraction)
    return problems


def _target_problems(
    specs: Sequence[Spec], label: str, target: timedelta
) -> list[tuple[str, tuple[str, ...]]]:
    """(problem, the specs involved) for each `before` threshold that collides at `target`."""
    found: list[tuple[str, tuple[str, ...]]] = []
    by_key: dict[str, tuple[Spec, Threshold]] = {}
    where = f"for {label} (target {format_duration(target)})"
    for spec in specs:
        if isinstance(spec, BeforeDeadline) and _reads_as_breach(spec, target):
            name = describe_spec(spec)
            found.append(
                (
                    f"thresholds: {name} is due so close to the breach {where} that it "
                    f"would read {BREACH_KEY} in alert ids; use a longer duration",
                    (name,),
                )
            )
            continue
        threshold = threshold_at(spec, target)
        other, seen = by_key.setdefault(threshold_key(threshold.fraction), (spec, threshold))
        both_fractions = isinstance(other, float) and isinstance(spec, float)
        if seen.elapsed != threshold.elapsed and not both_fractions:  # fractions: checked already
            names = (describe_spec(other), describe_spec(spec))
            found.append(
                (
                    f"thresholds: {names[0]} and {names[1]} both read "
                    f"{threshold_key(threshold.fraction)} in alert ids {where} but fall due "
                    "at different times; change one",
                    names,
                )
            )
    return found


def _reads_as_breach(spec: BeforeDeadline, target: timedelta) -> bool:
    target_us = target // _US
    elapsed_us = max(target_us - spec.before // _US, 0)
    return _ten_thousandths(elapsed_us, target_us) >= 10_000
