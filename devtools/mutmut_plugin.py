"""pytest plugin loaded only by mutmut (pyproject's [tool.mutmut] pytest_add_cli_args; see
docs/mutation.md).

- It keeps only the unit tests of the mutated modules (`MUTATION_TESTS`): the CLI-subprocess,
  compose and ops tests exercise none of them and need the whole checkout, and the brute-force
  calendar properties take over a minute per surviving calendar mutant. The list lives here, not
  in pyproject, so that adding a test file does not make mutmut throw away every result.
- mutmut 3.7 (the newest release that installs beside faust-streaming's click<8.4) reads
  `item._nodeid` when it maps tests to functions; pytest 9.2 keeps the node id in `nodeid` only,
  so each kept test gets the attribute mutmut reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MUTATION_TESTS = re.compile(
    r"tests/unit/test_(alert_id_fast|calendar|core_[a-z_]+|customer_replied|events|machine_[a-z_]+"
    r"|metrics_[a-z_]+|policy|replay_cli|replay_watermark|runtime_[a-z_]+|service|service_[a-z_]+"
    r"|tombstones)\.py"
)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip (without importing) every test file of tests/unit that is not in the list."""
    name = collection_path.name
    if collection_path.parent.name == "unit" and name.startswith("test_") and name.endswith(".py"):
        return None if MUTATION_TESTS.fullmatch(f"tests/unit/{name}") else True
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not hasattr(item, "_nodeid"):
            setattr(item, "_nodeid", item.nodeid)  # noqa: B010 (a private name mutmut reads)
