"""Tiers, priorities and statuses have one home, `processor.domain.constants`; the copies that
other modules still carry agree with it, and no new copy appears."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from processor.domain import constants, events, policy, policy_specs
from processor.domain.constants import PRIORITIES, STATUSES, TIERS
from processor.simulate.model import DEFAULT_PRIORITY_MIX, DEFAULT_TIER_MIX, TARGET_SECONDS

ROOT = Path(__file__).resolve().parents[2]
# Modules that still define their own copy (being edited on other branches); each is checked
# against constants.py below. Remove an entry once the module imports from constants.py.
PENDING = {
    "processor/domain/events.py",  # Tier, Status literals
    "processor/domain/machine.py",  # _STOP_STATUSES, the tier assert in _tier
    "processor/domain/policy_specs.py",  # PRIORITIES
}


def test_the_pending_copies_agree_with_the_constants() -> None:
    assert get_args(events.Tier) == TIERS
    assert get_args(events.Status) == STATUSES
    assert policy_specs.PRIORITIES == PRIORITIES
    assert policy.TIERS == TIERS
    assert tuple(policy_specs.Tiers.model_fields) == TIERS


def test_the_simulator_and_the_seed_targets_use_them() -> None:
    assert tuple(DEFAULT_TIER_MIX) == TIERS
    assert tuple(DEFAULT_PRIORITY_MIX) == PRIORITIES
    shipped = policy.default_policy()
    assert {
        (t, p): shipped.target(t, p).total_seconds() for t in TIERS for p in PRIORITIES
    } == TARGET_SECONDS
    assert set(STATUSES) >= constants.STOP_STATUSES


def test_no_other_module_spells_out_the_tier_or_status_list() -> None:
    tiers = re.compile(r"""["']basic["'],\s*["']silver["'],\s*["']gold["']""")
    statuses = re.compile(r"""["']solved["'],\s*["']closed["']""")
    copies = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "processor").rglob("*.py")
        if path.name != "constants.py"
        and (tiers.search(text := path.read_text("utf-8")) or statuses.search(text))
    )
    assert set(copies) <= PENDING, copies
