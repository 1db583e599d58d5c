"""The fault-injection harness: one local cloud per test module, purged at the end; a summary table.

Module scope (not session): the fixture points AWS_ENDPOINT_URL at its local cloud and must put the
environment back before other test directories run (moto's mock_aws would otherwise talk to it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_harness import RESULTS, summary_lines
from hivemind.adapters.aws import client
from hivemind.cli import target as target_mod
from hivemind.local import cloud as local_cloud
from hivemind.local import faults


@pytest.fixture(scope="module")
def fault_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[target_mod.Target]:
    """A fresh local cloud for this module, reached exactly as the CLI reaches it (HIVEMIND_LOCAL_DIR)."""
    state_dir = tmp_path_factory.mktemp("hm-faults")
    saved = dict(os.environ)
    os.environ["HIVEMIND_LOCAL_DIR"] = str(state_dir)
    try:
        target = target_mod.resolve(local=True)
        yield target
    finally:
        faults.clear(state_dir)
        local_cloud.down(state_dir)
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()
        if not os.environ.get("HIVEMIND_FAULTS_KEEP"):  # set it to read logs/server.log after a failure
            shutil.rmtree(Path(state_dir), ignore_errors=True)  # purge: logs, work dirs, the moto state


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001 - pytest's hook spec
    """The points table (point, stage, end state, rule, seconds): it goes into the issue note."""
    if not RESULTS:
        return
    terminalreporter.section("fault points")
    for line in summary_lines():
        terminalreporter.write_line(line)
