"""Shared test settings: no real AWS is ever reached; moto or the local cloud answer."""

from __future__ import annotations

import os

import pytest

# Dummy credentials and a region for boto3; tests that need an endpoint set it themselves.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HiveMindTest")


@pytest.fixture(scope="module")
def module_local_cloud(tmp_path_factory: pytest.TempPathFactory):
    """A local cloud for one test module, reached through AWS_ENDPOINT_URL and the HIVEMIND_* settings.

    Module scope on purpose: the environment is put back before the next module, so moto's
    ``mock_aws`` in other tests never talks to a live server.
    """
    from hivemind.adapters.aws import client
    from hivemind.local import cloud as local_cloud

    state_dir = tmp_path_factory.mktemp("hm-local")
    saved = dict(os.environ)
    running = local_cloud.up(state_dir)
    try:
        os.environ.update(local_cloud.client_env(running))
        client.cache_clear()
        yield running
    finally:
        local_cloud.down(state_dir, purge=True)
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()


@pytest.fixture(scope="module")
def local_target(tmp_path_factory: pytest.TempPathFactory):
    """The CLI's own path to a fresh local cloud for one test module (HIVEMIND_LOCAL_DIR), purged at the end.

    Module scope for the same reason as ``module_local_cloud``: the environment is put back before
    other test directories run.
    """
    from hivemind.adapters.aws import client
    from hivemind.cli import target as target_mod
    from hivemind.local import cloud as local_cloud

    state_dir = tmp_path_factory.mktemp("hm-target")
    saved = dict(os.environ)
    os.environ["HIVEMIND_LOCAL_DIR"] = str(state_dir)
    try:
        yield target_mod.resolve(local=True)
    finally:
        local_cloud.down(state_dir, purge=True)
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()
