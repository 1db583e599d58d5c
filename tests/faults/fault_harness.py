"""Shared pieces of the fault-injection suite: the FaultPoint record, running one point, and the
assertions every point ends with (defined end state, recorded error and remediation, the Medic's
rule, and after destroy: zero tagged resources, zero app processes, zero sandbox files)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivemind.adapters.aws import client
from hivemind.adapters.tagging import TaggedResources
from hivemind.cli import commands
from hivemind.cli.target import Target
from hivemind.local import faults, procs
from hivemind.models.tasks import DeployOptions

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
BROKEN = HERE.parent / "fixtures" / "broken"
# The bound every deployment must settle within: the CLI's --timeout (commands.deploy's timeout_s).
DEPLOY_BOUND_S = 600
DESTROY_BOUND_S = 600
FAST = {"poll_interval_s": 1}


@dataclass(frozen=True)
class FaultPoint:
    """One place in the pipeline made to fail, and what HiveMind must make of it."""

    id: str
    stage: str  # the stage the deployment fails at (for an absorbed fault: where the fault was)
    app: Path
    setup: tuple[dict[str, Any], ...] = ()  # faults.json entries armed before the deploy
    expect_status: str = "failed"  # "failed", or "succeeded" when the fault is absorbed
    expect_rule: str | None = None  # the Medic's rule id saved on the item
    expect_type: str | None = None  # ErrorEntry.type
    expect_text: str = ""  # must appear in the error message or its evidence
    options: dict[str, Any] = field(default_factory=dict)  # DeployOptions beyond FAST
    expect_retry_in: str | None = None  # a state whose failed attempt the ASL Retry absorbed


@dataclass
class PointResult:
    point: str
    stage: str
    end_state: str
    rule: str
    seconds: float


RESULTS: list[PointResult] = []


def summary_lines() -> list[str]:
    header = f"{'point':<28} {'stage':<10} {'end state':<11} {'rule':<26} {'seconds':>7}"
    rows = [f"{r.point:<28} {r.stage:<10} {r.end_state:<11} {r.rule:<26} {r.seconds:>7.1f}" for r in RESULTS]
    return [header, "-" * len(header), *rows]


# --- running a point --------------------------------------------------------------------------------
def run_point(target: Target, point: FaultPoint) -> None:
    """Arm the faults, deploy through the CLI's code path, check the end state, destroy, check nothing is left."""
    state_dir = Path(str(target.state_dir))
    faults.clear(state_dir)
    for entry in point.setup:
        faults.inject(state_dir, entry)
    started = time.monotonic()
    try:
        outcome = commands.deploy(target, str(point.app), options=DeployOptions(**FAST, **point.options),
                                  timeout_s=DEPLOY_BOUND_S)
    finally:
        armed = faults.read_faults(state_dir)
        faults.clear(state_dir)  # before any assertion: destroy and the checks must not meet the fault
    seconds = time.monotonic() - started
    state = commands.status(target, outcome.id)
    diagnosis = _diagnosis(state)
    RESULTS.append(PointResult(point.id, state.stage, f"{state.status.value}", diagnosis.get("rule", "-"),
                               seconds))
    try:
        # The fault really happened (a fault that never fired proves nothing).
        assert all(e.get("hits", 0) >= 1 for e in armed), f"a fault never fired: {armed}"
        # A defined end state within the bound: the execution settled by itself.
        assert outcome.execution_status in {"SUCCEEDED", "FAILED"}, (
            f"{point.id}: execution still {outcome.execution_status} after {DEPLOY_BOUND_S} s")
        if point.expect_status == "succeeded":
            _assert_succeeded(target, point, outcome, state, armed)
        else:
            _assert_failed(point, outcome, state, diagnosis)
    finally:
        destroy_and_assert_nothing_left(target, outcome.id)


def _diagnosis(state: Any) -> dict[str, Any]:
    value = getattr(state, "diagnosis", None)
    if value is None:
        return {}
    return value if isinstance(value, dict) else value.model_dump(mode="json")


def _assert_succeeded(target: Target, point: FaultPoint, outcome: Any, state: Any,
                      armed: list[dict[str, Any]]) -> None:
    assert outcome.ok and state.status.value == "succeeded", (point.id, outcome.error)
    assert state.error is None
    status, _ = http_get(str(state.url))
    assert status == 200
    if point.expect_retry_in:
        retried = failed_attempts(outcome.execution_arn, point.expect_retry_in)
        assert retried, (f"{point.id}: no failed attempt of {point.expect_retry_in} in the execution history "
                         f"(faults: {armed}; failed events: {failed_attempts(outcome.execution_arn, None)})")
        assert all(e["error"] == "TransientError" for e in retried), retried


def _assert_failed(point: FaultPoint, outcome: Any, state: Any, diagnosis: dict[str, Any]) -> None:
    assert not outcome.ok and state.status.value == "failed", (point.id, state.status, outcome.error)
    assert state.stage == point.stage, f"{point.id}: failed at {state.stage}, expected {point.stage}"
    error = state.error
    assert error is not None, f"{point.id}: no ErrorEntry on the deployment item"
    if point.expect_type:
        assert error.type == point.expect_type, f"{point.id}: error type {error.type}: {error.message}"
    assert error.remediation.strip(), f"{point.id}: empty remediation"
    if point.expect_text:
        seen = "\n".join([error.message, *map(str, error.context.get("output_tail") or []),
                          *map(str, diagnosis.get("evidence") or [])])
        assert point.expect_text in seen, f"{point.id}: {point.expect_text!r} not in {seen[:1500]}"
    assert diagnosis, f"{point.id}: no diagnosis saved on the deployment item (state.diagnosis)"
    assert diagnosis.get("rule") == point.expect_rule, (
        f"{point.id}: diagnosed {diagnosis.get('rule')!r}, expected {point.expect_rule!r}: {error.type}: "
        f"{error.message[:300]}")
    assert diagnosis.get("remediation"), f"{point.id}: the diagnosis has no remediation"


def failed_attempts(execution_arn: str, state_name: str | None) -> list[dict[str, str]]:
    """Failed task attempts of ``state_name`` in the execution history (what an ASL Retry absorbed)."""
    events = client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    current, found = None, []
    for event in events:
        if event["type"].endswith("StateEntered"):
            current = event.get("stateEnteredEventDetails", {}).get("name")
        if state_name in (None, current) and event["type"] in {"LambdaFunctionFailed", "TaskFailed"}:
            details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails") or {}
            found.append({"state": str(current), "error": str(details.get("error")),
                          "cause": str(details.get("cause"))[:300]})
    return found


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback URL of the local LB
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


# --- after destroy: nothing left ---------------------------------------------------------------------
def destroy_and_assert_nothing_left(target: Target, deployment_id: str) -> None:
    gone = commands.destroy(target, deployment_id, timeout_s=DESTROY_BOUND_S)
    assert gone.ok, f"destroy of {deployment_id}: {gone.error}"
    assert commands.status(target, deployment_id).status.value == "destroyed"
    assert_nothing_left(target, deployment_id)


def assert_nothing_left(target: Target, deployment_id: str) -> None:
    """Zero resources tagged with the deployment id, zero app processes, zero sandbox files."""
    tagged = TaggedResources().arns(deployment_id)
    # A final DB snapshot is the user's data, kept on purpose; these apps have no database.
    assert tagged == [], f"tagged resources left for {deployment_id}: {tagged}"
    live = [i["InstanceId"] for r in client("ec2").describe_instances(Filters=[
        {"Name": "tag:hivemind:deployment-id", "Values": [deployment_id]}])["Reservations"]
        for i in r["Instances"] if i["State"]["Name"] != "terminated"]
    assert live == [], f"instances left: {live}"
    state_dir = Path(str(target.state_dir))
    instances = state_dir / "instances"
    # One directory per instance sandbox (files beside them are the agent's own bookkeeping).
    sandboxes = sorted(str(f) for f in instances.rglob("*") if f.relative_to(instances).parts[0] != "ips.json"
                       ) if instances.exists() else []
    assert sandboxes == [], f"sandbox files left: {sandboxes[:20]}"
    assert app_processes(instances) == [], "app processes left"


def app_processes(instances_dir: Path) -> list[str]:
    """Live processes that belong to a sandbox (its path in their command line, cwd or environment)."""
    marker = str(instances_dir)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if stat in ("Z", "X") or not procs.belongs_to(int(entry.name), marker):
                continue
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def dump(obj: Any) -> str:
    return json.dumps(obj, default=str, indent=1)[:3000]
