"""Small edges of the core that the full mutation run found unchecked (docs/mutation.md): the
holiday subdivision, the duplicate pause status message, replay's 300-character cut."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from processor.domain.holidays import HOLIDAYS_VERSION, country_holidays, country_problem
from processor.domain.policy import PolicyError, parse_policy
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
