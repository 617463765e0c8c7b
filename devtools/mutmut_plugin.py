"""pytest plugin loaded only under `make mutate` (pyproject's [tool.mutmut] pytest_add_cli_args).

mutmut 3.7 (the newest release that installs beside faust-streaming's click<8.4) reads
`item._nodeid` when it maps tests to functions; pytest 9.2 keeps the node id in `nodeid` only.
This gives each collected test the attribute mutmut reads, and changes nothing else."""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid  # type: ignore[attr-defined]
