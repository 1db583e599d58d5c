"""Side-effecting tasks are idempotent: the real ``hivemind-provision`` and ``hivemind-deploy``
functions of the local cloud, invoked twice with the same input, create one stack / change set and
send one SSM command.

Each deployment is brought to the point where the task runs by the real deploy state machine,
stopped right after by a fault injected into the next task (the local cloud's ``faults.json``).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.local import cloud as local_cloud
from hivemind.local import control_plane, lambda_runtime
from hivemind.logic import launch
from hivemind.models import DeploymentState, DeploymentStatus
from hivemind.models.tasks import DeployOptions, DeployRequest

GO_HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "go-hello")
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cloud(module_local_cloud: local_cloud.LocalCloud) -> local_cloud.LocalCloud:
    return module_local_cloud


@pytest.fixture(scope="module")
def store(cloud: local_cloud.LocalCloud) -> DynamoStateStore:
    return DynamoStateStore(constants.TABLE_NAME)


def invoke(task: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Invoke the real task function through Lambda; a function error fails the test with its payload."""
    resp = client("lambda").invoke(FunctionName=constants.function_name(task), Payload=json.dumps(payload).encode())
    body = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, body
    return body


def deploy_until_fault(cloud: local_cloud.LocalCloud, store: DynamoStateStore, task: str,
                       error: str) -> DeploymentState:
    """Run the deploy machine on go-hello; the first invocation of ``task`` fails with ``error``."""
    lambda_runtime.write_faults(cloud.state_dir, [{"function": constants.function_name(task), "error": error,
                                                   "message": f"stopped before {task} (injected)", "times": 1}])
    request = DeployRequest(deployment_id=launch.new_deployment_id(GO_HELLO), repo=GO_HELLO,
                            options=DeployOptions(poll_interval_s=1))
    sfn = client("stepfunctions")
    try:
        arn = sfn.start_execution(stateMachineArn=control_plane.state_machine_arn("deploy"),
                                  name=f"{request.deployment_id}-{uuid.uuid4().hex[:6]}",
                                  input=request.model_dump_json())["executionArn"]
        deadline = time.monotonic() + 300
        while (desc := sfn.describe_execution(executionArn=arn))["status"] not in TERMINAL:
            assert time.monotonic() < deadline, "the deploy execution did not end"
            time.sleep(0.3)
    finally:
        lambda_runtime.write_faults(cloud.state_dir, [])
    state = store.get(request.deployment_id)
    assert desc["status"] == "FAILED" and state.status is DeploymentStatus.FAILED, state.error
    assert state.error is not None and state.error.type == error
    return state


def test_a_retried_provision_creates_one_stack_and_one_change_set(cloud, store: DynamoStateStore) -> None:
    state = deploy_until_fault(cloud, store, "provision", "StackFailed")
    assert state.stage == "provision" and state.plan is not None
    name = state.plan.stack_name
    cfn = client("cloudformation")
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name]  # nothing yet

    execution_id = f"arn:aws:states:us-east-1:123456789012:execution:hivemind-deploy:{state.id}-idem"
    payload = {"deployment_id": state.id, "execution_id": execution_id}
    first = invoke("provision", payload)
    second = invoke("provision", payload)  # what an ASL Retry after a lost response does
    assert first["detail"]["stack_name"] == second["detail"]["stack_name"] == name

    stacks = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name]
    assert len(stacks) == 1, stacks
    assert stacks[0]["StackStatus"] != "DELETE_COMPLETE"
    change_sets = cfn.list_change_sets(StackName=name)["Summaries"]
    assert [c["ChangeSetName"] for c in change_sets] == [f"hm-{state.id}-idem"]  # named after the execution
    assert store.get(state.id).status is DeploymentStatus.PROVISIONING


def _command_ids() -> set[str]:
    ssm = client("ssm")
    ids: set[str] = set()
    for page in ssm.get_paginator("list_commands").paginate():
        ids |= {c["CommandId"] for c in page["Commands"]}
    return ids


def _wait_command(command_id: str, instance_ids: list[str], timeout_s: float = 180) -> list[str]:
    ssm = client("ssm")
    deadline = time.monotonic() + timeout_s
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [ssm.get_command_invocation(CommandId=command_id, InstanceId=i)["Status"] for i in instance_ids]
        if not {"Pending", "InProgress", "Delayed"} & set(statuses):
            return statuses
        time.sleep(0.5)
    raise AssertionError(f"command {command_id} still {statuses} after {timeout_s} s")


def test_a_retried_deploy_sends_the_release_once(cloud, store: DynamoStateStore) -> None:
    # Deploy really ran (install command succeeded); Harden was stopped by the fault.
    state = deploy_until_fault(cloud, store, "harden", "HardeningFailed")
    assert state.stage == "harden" and state.release is not None
    before = _command_ids()

    payload = {"deployment_id": state.id, "polls": 0,
               "execution_id": f"arn:aws:states:us-east-1:123456789012:execution:hivemind-deploy:{state.id}-again"}
    first = invoke("deploy", payload)
    second = invoke("deploy", payload)
    assert first["done"] is True and first["detail"]["command_id"]
    assert second["detail"]["command_id"] == first["detail"]["command_id"]
    assert second == first

    new = _command_ids() - before
    assert new == {first["detail"]["command_id"]}  # SSM saw one command, not two
    assert _wait_command(first["detail"]["command_id"], first["detail"]["instance_ids"]) == [
        "Success"] * len(first["detail"]["instance_ids"])
