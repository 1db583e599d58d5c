"""Second pass: the CLI is killed mid-deploy. The execution goes on in the control plane,
`hivemind status <id> --follow` follows it to success, the URL answers, and destroy cleans everything.

Everything runs as the user runs it: `python -m hivemind ...` subprocesses against this module's local
cloud (HIVEMIND_LOCAL_DIR), SIGKILL (no chance to clean up) while the deployment is at stage deploy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from fault_harness import (
    APPS,
    DEPLOY_BOUND_S,
    DESTROY_BOUND_S,
    RESULTS,
    PointResult,
    assert_nothing_left,
    http_get,
)
from hivemind.cli import commands

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP = APPS / "go-ok"
# How long the deployment may take to reach stage deploy (analyze + plan + the stack): a bound on the
# test's own wait, not an assertion about speed.
REACH_DEPLOY_S = 300


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hivemind", *args, "--local"]


def _wait_for_stage(target, stage: str, proc: subprocess.Popen) -> str:
    """Poll the deployments table until the app's deployment reaches ``stage``; return its id."""
    deadline = time.monotonic() + REACH_DEPLOY_S
    while time.monotonic() < deadline:
        for state in commands.list_deployments(target):
            if state.repo == str(APP) and state.status.value != "destroyed" and state.stage == stage:
                return state.id
        assert proc.poll() is None, f"the CLI ended before stage {stage}: {proc.communicate()}"
        time.sleep(0.2)
    raise AssertionError(f"no deployment of {APP} reached stage {stage} within {REACH_DEPLOY_S} s")


def test_killing_the_cli_mid_deploy_does_not_stop_the_deployment(fault_target) -> None:
    env = dict(os.environ)  # HIVEMIND_LOCAL_DIR and the endpoint: this module's local cloud
    started = time.monotonic()
    cli = subprocess.Popen(_cli("deploy", str(APP), "--json", "--poll-interval", "1", "--timeout",
                                str(DEPLOY_BOUND_S)), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deployment_id = _wait_for_stage(fault_target, "deploy", cli)
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.communicate(timeout=30)
    assert cli.returncode == -signal.SIGKILL
    state = commands.status(fault_target, deployment_id)
    assert state.status.value not in {"succeeded", "failed"}, "the deploy settled before the CLI was killed"

    follow = subprocess.run(_cli("status", deployment_id, "--follow", "--json", "--timeout", str(DEPLOY_BOUND_S)),
                            env=env, capture_output=True, text=True, timeout=DEPLOY_BOUND_S + 60)
    assert follow.returncode == 0, follow.stdout + follow.stderr
    outcome = json.loads(follow.stdout)
    assert outcome["id"] == deployment_id
    assert outcome["status"] == "succeeded" and outcome["execution_status"] == "SUCCEEDED"
    status, body = http_get(outcome["url"])
    assert status == 200 and "go-ok answers" in body
    RESULTS.append(PointResult("cli-killed-mid-deploy", "deploy", outcome["status"], "-",
                               time.monotonic() - started))

    gone = subprocess.run(_cli("destroy", deployment_id, "--yes", "--json", "--timeout", str(DESTROY_BOUND_S)),
                          env=env, capture_output=True, text=True, timeout=DESTROY_BOUND_S + 60)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert json.loads(gone.stdout)["status"] == "destroyed"
    assert_nothing_left(fault_target, deployment_id)
