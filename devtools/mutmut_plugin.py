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

import pytest

MUTATION_TESTS = re.compile(
    r"tests/unit/test_(alert_id_fast|calendar|core_[a-z_]+|customer_replied|events|machine_[a-z_]+"
    r"|policy|replay_cli|replay_watermark|runtime_[a-z_]+|service|service_[a-z_]+|tombstones)\.py"
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        path = item.nodeid.split("::", 1)[0].removeprefix("mutants/")
        (kept if MUTATION_TESTS.fullmatch(path) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in kept:
        if not hasattr(item, "_nodeid"):
            setattr(item, "_nodeid", item.nodeid)  # noqa: B010 (a private name mutmut reads)
