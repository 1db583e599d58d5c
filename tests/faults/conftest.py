"""The fault-injection harness: one local cloud per test module, purged at the end; a summary table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_harness import RESULTS, summary_lines
from hivemind.cli import target as target_mod
from hivemind.local import faults


@pytest.fixture(scope="module")
def fault_target(local_target: target_mod.Target) -> Iterator[target_mod.Target]:
    """A fresh local cloud for this module (tests/conftest.py ``local_target``), its faults cleared at the end."""
    yield local_target
    faults.clear(local_target.state_dir)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001 - pytest's hook spec
    """The points table (point, stage, end state, rule, seconds): it goes into the issue note."""
    if not RESULTS:
        return
    terminalreporter.section("fault points")
    for line in summary_lines():
        terminalreporter.write_line(line)
