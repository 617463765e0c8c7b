"""Public holidays by country and subdivision, from the `holidays` package.

The package is pinned exactly (pyproject.toml, constraints.txt): its data decides which local
dates close a calendar, so an upgrade can move deadlines and with them alert ids. The result of
`country_holidays` answers `date in ...` for any year (years are filled in on first use).
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date
from functools import lru_cache
from importlib.metadata import version

import holidays as _holidays

__all__ = ["HOLIDAYS_VERSION", "country_holidays", "country_problem"]

HOLIDAYS_VERSION: str = version("holidays")


def country_problem(country: str, subdivision: str | None) -> str | None:
    """Why (country, subdivision) is not in the package, or None if it is."""
    try:
        _build(country, subdivision)
    except NotImplementedError as exc:
        return f"{exc} in the holidays package {HOLIDAYS_VERSION}"
    return None


def country_holidays(country: str, subdivision: str | None = None) -> Container[date] | None:
    """The public holidays of `country` (ISO 3166-1 alpha-2) and `subdivision`, or None when
    the package does not know them (a ticket's country is data, not configuration)."""
    try:
        return _build(country, subdivision)
    except NotImplementedError:
        return None


@lru_cache(maxsize=256)
def _build(country: str, subdivision: str | None) -> Container[date]:
    found: Container[date] = _holidays.country_holidays(country, subdiv=subdivision)
    return found
