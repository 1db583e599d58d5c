"""End-to-end: the real CLI code path against a real local cloud (one per module, own state dir).

Module scope, not session: the fixture points AWS_ENDPOINT_URL at the local cloud and must put the
environment back before other test directories run (moto's mock_aws would otherwise talk to it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hivemind.adapters.aws import client
from hivemind.cli import target as target_mod
from hivemind.local import cloud as local_cloud


@pytest.fixture(scope="module")
def local_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[target_mod.Target]:
    state_dir = tmp_path_factory.mktemp("hm-e2e")
    saved = dict(os.environ)
    os.environ["HIVEMIND_LOCAL_DIR"] = str(state_dir)
    try:
        target = target_mod.resolve(local=True)
        yield target
    finally:
        local_cloud.down(state_dir, purge=True)
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()
