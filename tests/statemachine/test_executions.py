"""Each ASL file executed by moto's Step Functions with the real handlers: the execution history
shows the happy path, an ASL Retry of a transient error, a Catch into the failure path, the
resumed retry, destroy and the orphan sweep."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hivemind import asl
from hivemind.adapters.aws import client
from hivemind.adapters.stacks import CloudFormationStacks
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.adapters.tagging import TaggedResources
from hivemind.errors import HealthCheckFailed
from hivemind.local import control_plane
from hivemind.logic import launch
from hivemind.models import DeploymentState, DeploymentStatus, ErrorEntry
from hivemind.models.tasks import DeployOptions, DeployRequest

GO_HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "go-hello")
FAST = DeployOptions(poll_interval_s=1)
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass
class Execution:
    """A finished execution and its history, with the views the tests assert on."""

    arn: str
    status: str
    output: dict[str, Any]
    error: str | None
    history: list[dict[str, Any]]
    entered: list[str] = field(default_factory=list)

    def lambda_events(self, state: str) -> list[tuple[str, str | None]]:
        """(event type, error) of every LambdaFunction* outcome while ``state`` was the current state."""
        current, found = None, []
        for event in self.history:
            details = event.get("stateEnteredEventDetails")
            if details:
                current = details["name"]
            if current == state and event["type"] in {"LambdaFunctionSucceeded", "LambdaFunctionFailed",
                                                      "LambdaFunctionTimedOut"}:
                error = (event.get("lambdaFunctionFailedEventDetails") or {}).get("error")
                found.append((event["type"], error))
        return found


def wait_execution(arn: str, timeout_s: float = 300) -> Execution:
    """Poll DescribeExecution until the execution ends; return it with its full history."""
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {arn} still {desc['status']} after {timeout_s:.0f} s")
        time.sleep(0.3)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    return Execution(arn=arn, status=desc["status"], output=json.loads(desc.get("output") or "{}"),
                     error=desc.get("error"), history=events, entered=entered)


def start(workflow: str, payload: dict[str, Any], name: str) -> str:
    return client("stepfunctions").start_execution(
        stateMachineArn=control_plane.state_machine_arn(workflow), name=name[:80], input=json.dumps(payload)
    )["executionArn"]


def run(workflow: str, payload: dict[str, Any], name: str, timeout_s: float = 300) -> Execution:
    """Start ``workflow`` (its real ASL, as the local cloud bootstrapped it) and wait for the end."""
    return wait_execution(start(workflow, payload, name), timeout_s)


CREATED: list[str] = []  # deployment ids this module started (destroyed at its end)


def _request(what_if: bool = False) -> DeployRequest:
    request = DeployRequest(deployment_id=launch.new_deployment_id(GO_HELLO), repo=GO_HELLO, what_if=what_if,
                            options=FAST)
    CREATED.append(request.deployment_id)
    return request


@pytest.fixture(scope="module", autouse=True)
def _destroy_leftovers(cloud, store: DynamoStateStore) -> Iterator[None]:
    """Destroy what the tests left when the module ends (the session's cloud outlives the module).

    Also the destroy machine's run on a deployment that failed and one that was resumed.
    """
    yield
    live = [s for s in map(store.find, CREATED) if s is not None and s.status is not DeploymentStatus.DESTROYED]
    arns = [start("destroy", {"deployment_id": s.id}, f"{s.id}-cleanup-{uuid.uuid4().hex[:6]}") for s in live]
    outcomes = {arn: wait_execution(arn).status for arn in arns}
    assert set(outcomes.values()) <= {"SUCCEEDED"}, outcomes


def _deploy(request: DeployRequest, kind: str = "deploy") -> Execution:
    return run("deploy", request.model_dump(mode="json"), f"{request.deployment_id}-{kind}-{uuid.uuid4().hex[:6]}")


def _in_order(entered: list[str], expected: list[str]) -> bool:
    """True when ``expected`` occurs in ``entered`` as a subsequence (same order, gaps allowed)."""
    remaining = iter(entered)
    return all(any(name == seen for seen in remaining) for name in expected)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback URL of the local proxy
        return resp.status, resp.read().decode()


# --- deploy: what-if and the full happy path ------------------------------------------------------
def test_what_if_stops_after_the_plan_and_creates_nothing(cloud, store: DynamoStateStore) -> None:
    request = _request(what_if=True)
    execution = _deploy(request, "whatif")
    assert execution.status == "SUCCEEDED", execution.output
    assert execution.entered == ["Validate", "ResumeAt", "Analyze", "Plan", "WhatIf", "WhatIfDone"]
    assert execution.output["analysis"]["stack"]["language"] == "go"
    assert execution.output["plan"]["cost"]["monthly_usd"] > 0
    assert execution.output["plan"]["resources"]
    assert store.find(request.deployment_id) is None  # what-if creates no deployment item
    stack_name = execution.output["plan"]["plan"]["stack_name"]
    assert request.deployment_id in stack_name
    assert CloudFormationStacks().status(stack_name).status == "DOES_NOT_EXIST"


@dataclass
class Deployed:
    request: DeployRequest
    execution: Execution
    state: DeploymentState
    answer: tuple[int, str]


@pytest.fixture(scope="module")
def deployed(cloud, store: DynamoStateStore) -> Deployed:
    """A full deploy of go-hello (the destroy test removes it)."""
    request = _request()
    execution = _deploy(request)
    state = store.get(request.deployment_id)
    answer = _get(state.url) if state.url else (0, "")
    return Deployed(request, execution, state, answer)


@pytest.mark.slow
def test_full_deploy_enters_every_stage_and_succeeds(deployed: Deployed) -> None:
    execution = deployed.execution
    assert execution.status == "SUCCEEDED", deployed.state.error
    # Wait states are entered only when a poll is not done yet: not asserted.
    assert _in_order(execution.entered, [
        "Validate", "ResumeAt", "Analyze", "Plan", "WhatIf", "Provision", "CheckStack", "StackReady", "StartDeploy",
        "Deploy", "CommandSent", "CheckCommand", "Installed", "Harden", "CheckHarden", "Hardened", "StartVerify",
        "Verify", "Healthy", "Report", "Succeeded",
    ]), execution.entered
    assert "RecordFailure" not in execution.entered and "WhatIfDone" not in execution.entered
    assert [e for e in execution.history if e["type"] == "LambdaFunctionFailed"] == []
    assert execution.entered[-1] == "Succeeded"
    assert deployed.state.status is DeploymentStatus.SUCCEEDED and deployed.state.stage == "report"
    assert deployed.state.release is not None and deployed.state.release.id == "r-1"
    assert deployed.answer[0] == 200 and "go-hello" in deployed.answer[1]


# --- Retry: a transient error is retried by the ASL, then the task succeeds ------------------------
def test_transient_error_is_retried_by_the_asl_and_the_execution_succeeds(cloud, faults: Any) -> None:
    faults.set("hivemind-plan", "TransientError", "throttled by the pricing API (injected)", times=1)
    execution = _deploy(_request(what_if=True), "whatif")
    assert execution.status == "SUCCEEDED"
    assert execution.lambda_events("Plan") == [("LambdaFunctionFailed", "TransientError"),
                                               ("LambdaFunctionSucceeded", None)]
    assert execution.entered.count("Plan") == 1  # the retry is inside the state, not a new entry
    assert "RecordFailure" not in execution.entered
    assert faults.remaining()[0]["times"] == 0  # the fault was consumed exactly once


# --- Catch: a non-retryable error lands in the failure path --------------------------------------
@dataclass
class FailedAtVerify:
    request: DeployRequest
    execution: Execution
    state: DeploymentState
    errors: list[ErrorEntry]


INJECTED = "GET http://lb/health -> HTTP 503 after 1 probes (injected)"


def _fail_at_verify(faults: Any, store: DynamoStateStore) -> FailedAtVerify:
    """A go-hello deploy whose Verify task raises HealthCheckFailed once (the fault is then gone)."""
    request = _request()
    faults.set("hivemind-verify", "HealthCheckFailed", INJECTED, times=1)
    try:
        execution = _deploy(request)
    finally:
        faults.clear()
    return FailedAtVerify(request, execution, store.get(request.deployment_id), store.errors(request.deployment_id))


@pytest.fixture(scope="module")
def failed_at_verify(cloud, faults: Any, store: DynamoStateStore) -> FailedAtVerify:
    return _fail_at_verify(faults, store)


@pytest.mark.slow
def test_non_retryable_error_is_caught_recorded_and_diagnosed(failed_at_verify: FailedAtVerify) -> None:
    execution = failed_at_verify.execution
    assert execution.status == "FAILED"
    assert execution.error == "DeploymentFailed"
    verify_at = execution.entered.index("Verify")
    assert execution.entered[verify_at:] == ["Verify", "RecordFailure", "Diagnose", "RollbackWanted", "Failed"]
    assert execution.lambda_events("Verify") == [("LambdaFunctionFailed", "HealthCheckFailed")]  # not retried
    assert execution.lambda_events("RecordFailure") == [("LambdaFunctionSucceeded", None)]

    state = failed_at_verify.state
    assert state.status is DeploymentStatus.FAILED and state.stage == "verify"
    assert state.error is not None
    assert state.error.type == "HealthCheckFailed"
    assert state.error.message == INJECTED
    assert state.error.remediation == HealthCheckFailed.remediation
    assert [(e.type, e.stage, e.message) for e in failed_at_verify.errors] == [
        ("HealthCheckFailed", "verify", INJECTED)]


def _assert_resumed_at_verify(child: Execution, dep_id: str, store: DynamoStateStore) -> None:
    child_input = json.loads(child.history[0]["executionStartedEventDetails"]["input"])
    assert child_input["deployment_id"] == dep_id and child_input["resume"] is True
    assert child.status == "SUCCEEDED", store.get(dep_id).error
    assert child.entered[:4] == ["Validate", "ResumeAt", "StartVerify", "Verify"]
    assert child.entered[-3:] == ["Healthy", "Report", "Succeeded"]
    assert not {"Analyze", "Plan", "Provision", "Deploy", "Harden"} & set(child.entered)
    state = store.get(dep_id)
    assert state.status is DeploymentStatus.SUCCEEDED
    assert state.retries == 1
    assert state.error is None


def _resume_input(dep_id: str, started_by: str) -> dict[str, Any]:
    """The input retry.asl.json's ResumeDeploy state gives the deploy machine, read from the ASL itself."""
    template = json.loads(asl.asl_path("retry").read_text())["States"]["ResumeDeploy"]["Parameters"]["Input"]
    paths = {"$.deployment_id": dep_id, "$$.Execution.Id": started_by, "$.fix": False}
    return {key.removesuffix(".$"): paths[value] if key.endswith(".$") else value for key, value in template.items()}


@pytest.mark.slow
def test_a_resumed_deploy_skips_to_the_failed_stage(failed_at_verify: FailedAtVerify, store: DynamoStateStore) -> None:
    """deploy.asl.json with the retry machine's input: ResumeAt jumps to StartVerify."""
    dep_id = failed_at_verify.request.deployment_id
    assert failed_at_verify.state.retries == 0
    payload = _resume_input(dep_id, f"arn:aws:states:us-east-1:123456789012:execution:hivemind-retry:{dep_id}")
    assert payload["resume"] is True
    child = run("deploy", payload, f"{dep_id}-retry-{uuid.uuid4().hex[:6]}")
    _assert_resumed_at_verify(child, dep_id, store)


@pytest.mark.slow
def test_retry_machine_starts_a_deploy_that_resumes_at_verify(
    cloud, faults: Any, store: DynamoStateStore
) -> None:
    failed = _fail_at_verify(faults, store)
    dep_id = failed.request.deployment_id
    assert failed.execution.status == "FAILED" and failed.state.stage == "verify"
    retry = run("retry", {"deployment_id": dep_id}, f"{dep_id}-retry-{uuid.uuid4().hex[:6]}")
    assert retry.status == "SUCCEEDED", [e for e in retry.history if "Failed" in e["type"]]
    assert retry.entered == ["Defaults", "ResumeDeploy", "Started"]
    child = wait_execution(retry.output["execution"]["ExecutionArn"])
    _assert_resumed_at_verify(child, dep_id, store)


# --- destroy.asl.json --------------------------------------------------------------------------------
@pytest.mark.slow
def test_destroy_deletes_the_stack_and_proves_nothing_tagged_remains(
    deployed: Deployed, store: DynamoStateStore
) -> None:
    dep_id = deployed.request.deployment_id
    assert TaggedResources().arns(dep_id), "the deployment should own tagged resources before destroy"
    execution = run("destroy", {"deployment_id": dep_id}, f"{dep_id}-destroy-{uuid.uuid4().hex[:6]}")
    assert execution.status == "SUCCEEDED", [e for e in execution.history if "Failed" in e["type"]]
    assert execution.entered[:3] == ["Init", "Destroy", "AlreadyGone"]
    assert _in_order(execution.entered, ["Destroy", "CheckDelete", "Deleted", "Finish", "Destroyed"])
    assert execution.entered[-3:] == ["Deleted", "Finish", "Destroyed"]
    assert "RecordFailure" not in execution.entered
    assert execution.output["result"]["status"] == "destroyed" and execution.output["result"]["remaining"] == []
    assert store.get(dep_id).status is DeploymentStatus.DESTROYED
    assert TaggedResources().arns(dep_id) == []


# --- sweep.asl.json ----------------------------------------------------------------------------------
@pytest.fixture
def ghost_resource(cloud) -> Any:
    """A security group tagged with a deployment id the table does not know."""
    ec2 = client("ec2")
    group = ec2.create_security_group(
        GroupName=f"ghost-{uuid.uuid4().hex[:6]}", Description="left behind by a deployment nobody knows",
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "hivemind:deployment-id", "Value": "ghost-123456"}]}],
    )["GroupId"]
    yield group
    ec2.delete_security_group(GroupId=group)


def test_sweep_lists_a_tagged_resource_of_an_unknown_deployment(
    ghost_resource: str, store: DynamoStateStore
) -> None:
    tagged = TaggedResources().arns("ghost-123456")
    assert [r["arn"].rsplit("/", 1)[-1] for r in tagged] == [ghost_resource]  # the Tagging API sees it

    execution = run("sweep", {}, f"sweep-{uuid.uuid4().hex[:8]}")
    assert execution.status == "SUCCEEDED"
    assert execution.entered == ["Sweep", "Done"]
    sweep = execution.output["sweep"]
    assert sweep["count"] == len(sweep["orphans"])
    ghosts = [o for o in sweep["orphans"] if o["deployment_id"] == "ghost-123456"]
    assert [{k: o[k] for k in ("arn", "deployment_id", "reason")} for o in ghosts] == [
        {"arn": tagged[0]["arn"], "deployment_id": "ghost-123456", "reason": "unknown deployment"}]
    for orphan in sweep["orphans"]:  # a live deployment's resources are never orphans
        known = store.find(orphan["deployment_id"]) if orphan["deployment_id"] else None
        assert known is None or known.status is DeploymentStatus.DESTROYED, orphan
