"""The names the SLA contract fixes, in one place: tiers, priorities, ticket statuses.

Import them from here. The seed targets (first-response minutes per tier and priority) are data,
not code: they live in `default_policy.yaml` and are read through `default_policy()`.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "PRIORITIES",
    "STATUSES",
    "STOP_STATUSES",
    "TIERS",
    "Status",
    "Tier",
]

Tier = Literal["basic", "silver", "gold"]
TIERS: tuple[Tier, ...] = get_args(Tier)
"""Support tiers, lowest first (the order of metrics, `policy show` and the policy file)."""

PRIORITIES: tuple[int, ...] = (1, 2, 3, 4)
"""Ticket priorities, P1 (most urgent) to P4."""

Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
STATUSES: tuple[Status, ...] = get_args(Status)

STOP_STATUSES: frozenset[Status] = frozenset({"solved", "closed"})
"""Statuses that end a ticket's SLA clock without a response (no breach is raised after)."""
