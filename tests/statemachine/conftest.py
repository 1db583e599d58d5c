"""One local cloud for the state machine tests: the real ASL files run under moto's Step Functions
execution, and every task is the real handler, invoked in the server process.

The test process talks to that cloud through the same boto3 clients the product uses
(``hivemind.adapters.aws.client`` with AWS_ENDPOINT_URL), set per module and restored after it.
Faults are injected through the local cloud's fault-injection harness (``faults.json`` in its
state directory, read by ``hivemind.local.lambda_runtime`` at every invoke).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.local import cloud as local_cloud
from hivemind.local import lambda_runtime


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_cloud.LocalCloud]:
    """The session's local cloud for these tests (its own state directory)."""
    state_dir = tmp_path_factory.mktemp("hm-statemachine")
    running = local_cloud.up(state_dir)
    try:
        yield running
    finally:
        local_cloud.down(state_dir)


@pytest.fixture(scope="module", autouse=True)
def aws_env(cloud: local_cloud.LocalCloud) -> Iterator[None]:
    """Point this process's AWS SDK at the local cloud for one module, then restore the environment.

    Module-scoped on purpose: a session-long AWS_ENDPOINT_URL would send the later tests' mock_aws
    clients to this server instead of moto's in-process mock.
    """
    saved = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(local_cloud.client_env(cloud))
    client.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()


class Faults:
    """Set and clear entries of the local cloud's ``faults.json`` (see lambda_runtime.take_fault)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def set(self, function: str, error: str, message: str, times: int = 1, **extra: Any) -> None:
        lambda_runtime.write_faults(self.state_dir, [{"function": function, "error": error, "message": message,
                                                      "times": times, **extra}])

    def remaining(self) -> list[dict[str, Any]]:
        path = self.state_dir / lambda_runtime.FAULTS_FILE
        return json.loads(path.read_text()) if path.exists() else []

    def clear(self) -> None:
        lambda_runtime.write_faults(self.state_dir, [])


@pytest.fixture(scope="session")
def faults(cloud: local_cloud.LocalCloud) -> Iterator[Faults]:
    helper = Faults(Path(cloud.state_dir))
    yield helper
    helper.clear()


@pytest.fixture(autouse=True)
def _no_fault_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fault left by one test must not fail the next one."""
    yield
    if "faults" in request.fixturenames:
        request.getfixturevalue("faults").clear()


@pytest.fixture(scope="module")
def store(aws_env: None) -> DynamoStateStore:
    return DynamoStateStore(constants.TABLE_NAME)
