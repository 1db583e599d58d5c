"""What each command does, as plain functions that return models (tests call these directly)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from hivemind.cli.target import Target
from hivemind.errors import HiveMindError, InvalidInput
from hivemind.logic import launch
from hivemind.models import DeploymentState, DeploymentStatus, LogEntry, TechStack
from hivemind.models.tasks import DeployOptions, DeployRequest

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


# --- analyze / plan: in-process, nothing is created anywhere -------------------------------------
class Analysis(BaseModel):
    repo: str
    ref: str | None
    commit: str
    stack: TechStack


def analyze_repo(repo: str, ref: str | None = None, max_size_mb: int = 200) -> Analysis:
    from hivemind.adapters.repositories import fetch_repository
    from hivemind.analysis.analyzer import analyze_directory

    tmp = Path(tempfile.mkdtemp(prefix="hivemind-analyze-"))
    try:
        checkout = fetch_repository(repo, ref, tmp / "src", max_size_mb=max_size_mb)
        # checkout.source has any user:password@ removed: the output never shows credentials.
        return Analysis(repo=checkout.source, ref=ref, commit=checkout.commit, stack=analyze_directory(checkout.path))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def plan_repo(repo: str, ref: str | None, preset: str, region: str, budget: float | None,
              max_size_mb: int = 200) -> tuple[dict[str, Any], dict[str, Any]]:
    from hivemind.logic.plan import build_plan

    analysis = analyze_repo(repo, ref, max_size_mb)
    dep_id = f"{launch.app_slug(repo)}-plan"
    result, template = build_plan(analysis.stack, deployment_id=dep_id, preset=preset, region=region,
                                  budget_usd=budget)
    out = {
        **analysis.model_dump(mode="json"),
        "plan": result.plan.model_dump(mode="json", exclude={"stack"}),
        "resources": [r.model_dump() for r in result.resources],
        "cost": result.cost.model_dump(mode="json"),
    }
    return out, template


# --- the control plane (AWS or local): start executions and follow them ---------------------------
class Outcome(BaseModel):
    id: str
    status: str
    stage: str | None = None
    url: str | None = None
    release: str | None = None
    monthly_usd: float | None = None
    execution_arn: str
    execution_status: str
    error: dict[str, Any] | None = None
    diagnosis: dict[str, Any] | None = None
    what_if: dict[str, Any] | None = None
    local: bool = False
    auto_fixed_from: str | None = None  # deploy --auto-fix: the failed execution the fixing retry followed
    logs_seen: int = Field(0, exclude=True)  # log lines shown so far (a follow-up follow starts after them)

    @property
    def ok(self) -> bool:
        return self.execution_status == "SUCCEEDED"


def _ports(target: Target):
    from hivemind.adapters.state_store import DynamoStateStore
    from hivemind.adapters.workflows import StepFunctions

    return DynamoStateStore(target.table), StepFunctions(target.region)


def deploy(target: Target, repo: str, *, ref: str | None = None, preset: str = "stage-1",
           region: str | None = None, what_if: bool = False, options: DeployOptions | None = None,
           wait: bool = True, timeout_s: float = 3600, on_log: Callable[[LogEntry], None] | None = None) -> Outcome:
    store, sfn = _ports(target)
    repo = _normalize_repo(repo)
    existing = None if what_if else launch.find_for_repo(store, repo)
    dep_id = existing.id if existing else launch.new_deployment_id(repo)
    request = DeployRequest(deployment_id=dep_id, repo=repo, ref=ref, preset=preset,
                            region=region or target.region, what_if=what_if, options=options or DeployOptions())
    seen = _log_count(store, dep_id)
    arn = launch.start_deploy(sfn, target.deploy_arn, request)
    outcome = follow(target, dep_id, arn, wait=wait, timeout_s=timeout_s, on_log=on_log, seen=seen)
    if wait and request.options.auto_fix and outcome.execution_status == "FAILED":
        outcome = _follow_auto_fix(target, outcome, seen, timeout_s=timeout_s, on_log=on_log)
    return outcome


def _log_count(store: Any, deployment_id: str) -> int:
    """How many log lines the deployment has before an execution starts: progress shows only the new ones."""
    return len(store.logs(deployment_id))


def _follow_auto_fix(target: Target, failed: Outcome, seen: int, *, timeout_s: float,
                     on_log: Callable[[LogEntry], None] | None) -> Outcome:
    """``deploy --auto-fix``: when Diagnose started a fixing retry, the user is waiting for that one's end."""
    store, sfn = _ports(target)
    started = time.time()
    logs = store.logs(failed.id)
    retry_arn = next((e.data["execution"] for e in logs[seen:]  # lines of this deploy only
                      if e.message.startswith("auto-fix: retrying") and e.data.get("execution")), None)
    if retry_arn is None:  # nothing fixable, or the retry limit was reached (logged by Diagnose)
        return failed
    deploy_arn = _wait_child_execution(sfn, retry_arn, target.deploy_arn, failed.id, started)
    fixed = follow(target, failed.id, deploy_arn, timeout_s=timeout_s, on_log=on_log, seen=failed.logs_seen)
    return fixed.model_copy(update={"auto_fixed_from": failed.execution_arn})


def retry(target: Target, deployment_id: str, *, fix: bool = False, **kw: Any) -> Outcome:
    store, sfn = _ports(target)
    state = store.get(deployment_id)
    if state.status is not DeploymentStatus.FAILED:
        raise InvalidInput(f"deployment {deployment_id} is {state.status.value}; only a failed deployment can be "
                           "retried", remediation="Redeploy it with `hivemind deploy <repo>` instead.", stage="retry")
    # The retry machine starts a resumed deploy execution; follow that one.
    started = time.time()
    if fix and (state.diagnosis is None or not state.diagnosis.fixable):
        seen = f"the diagnosis is {state.diagnosis.rule}: {state.diagnosis.remediation}" if state.diagnosis \
            else "there is no diagnosis"
        raise InvalidInput(f"deployment {deployment_id} has nothing HiveMind can fix by itself; {seen}",
                           stage="retry", remediation="Fix it by hand, then `hivemind retry <id>` without --fix.")
    seen = _log_count(store, deployment_id)
    retry_arn = launch.start_retry(sfn, target.retry_arn, deployment_id, fix=fix)
    deploy_arn = _wait_child_execution(sfn, retry_arn, target.deploy_arn, deployment_id, started)
    return follow(target, deployment_id, deploy_arn, seen=seen, **kw)


def rollback(target: Target, deployment_id: str, *, wait: bool = True, timeout_s: float = 3600,
             on_log: Callable[[LogEntry], None] | None = None) -> Outcome:
    """Back to the newest successful release other than the current one (checked again by Validate)."""
    store, sfn = _ports(target)
    state = store.get(deployment_id)
    if state.rollback_target() is None:
        raise InvalidInput(f"deployment {deployment_id} has no earlier successful release to go back to",
                           stage="rollback", remediation="Fix the app and redeploy, or destroy the deployment.")
    request = DeployRequest(deployment_id=deployment_id, region=state.region, preset=state.preset, rollback=True)
    seen = _log_count(store, deployment_id)
    arn = launch.start_deploy(sfn, target.deploy_arn, request)
    return follow(target, deployment_id, arn, wait=wait, timeout_s=timeout_s, on_log=on_log, seen=seen)


def destroy(target: Target, deployment_id: str, *, wait: bool = True, timeout_s: float = 1800,
            on_log: Callable[[LogEntry], None] | None = None, skip_snapshot: bool = False) -> Outcome:
    store, sfn = _ports(target)
    store.get(deployment_id)
    seen = _log_count(store, deployment_id)
    arn = launch.start_destroy(sfn, target.destroy_arn, deployment_id, skip_snapshot=skip_snapshot)
    return follow(target, deployment_id, arn, wait=wait, timeout_s=timeout_s, on_log=on_log, seen=seen)


def follow(target: Target, deployment_id: str, execution_arn: str, *, wait: bool = True, timeout_s: float = 3600,
           on_log: Callable[[LogEntry], None] | None = None, poll_s: float = 0.2, seen: int = 0) -> Outcome:
    """Wait for the execution (unless ``wait`` is off), passing each log line after the first ``seen`` to ``on_log``."""
    store, sfn = _ports(target)
    deadline = time.monotonic() + timeout_s
    while True:
        desc = sfn.describe(execution_arn)
        if on_log is not None:
            logs = store.logs(deployment_id)
            for entry in logs[seen:]:
                on_log(entry)
            seen = max(seen, len(logs))
        if desc["status"] in TERMINAL or not wait or time.monotonic() > deadline:
            break
        time.sleep(poll_s)
    return _outcome(target, deployment_id, execution_arn, desc, store).model_copy(update={"logs_seen": seen})


def _outcome(target: Target, deployment_id: str, arn: str, desc: dict[str, Any], store: Any) -> Outcome:
    state = store.find(deployment_id)
    output = json.loads(desc.get("output") or "{}")
    what_if = None
    if state is None and output.get("ctx", {}).get("what_if"):
        what_if = {"stack": output.get("analysis", {}).get("stack"), **(output.get("plan") or {})}
    error = None
    if state is not None and state.error is not None and desc["status"] != "SUCCEEDED":
        error = state.error.model_dump(mode="json")
    elif state is not None and desc["status"] in {"FAILED", "TIMED_OUT", "ABORTED"}:
        # An auto-rollback may already have cleared the item's error: the error log keeps it.
        recorded = store.errors(deployment_id)
        error = recorded[-1].model_dump(mode="json") if recorded else None
    if error is None and desc["status"] != "SUCCEEDED" and desc["status"] != "RUNNING":
        failure = output.get("failure") or {}
        error = {"type": failure.get("type") or desc.get("error"), "message": failure.get("message") or desc.get("cause"),
                 "remediation": failure.get("remediation")}
    diagnosis = (output.get("diagnosis") or {}).get("diagnosis") if output else None
    return Outcome(
        id=deployment_id,
        status=state.status.value if state else ("planned" if what_if else desc["status"].lower()),
        stage=state.stage if state else None,
        url=state.url if state else None,
        release=state.release.id if state and state.release else None,
        monthly_usd=(state.cost.monthly_usd if state and state.cost else
                     (what_if or {}).get("cost", {}).get("monthly_usd")),
        execution_arn=arn,
        execution_status=desc["status"],
        error=error,
        diagnosis=diagnosis,
        what_if=what_if,
        local=target.local,
    )


def _wait_child_execution(sfn: Any, retry_arn: str, deploy_sm: str, deployment_id: str, started: float,
                          timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        desc = sfn.describe(retry_arn)
        if desc["status"] == "SUCCEEDED":
            out = json.loads(desc.get("output") or "{}")
            arn = (out.get("execution") or {}).get("ExecutionArn")
            if arn:
                return arn
        if desc["status"] in {"FAILED", "TIMED_OUT", "ABORTED"}:
            raise HiveMindError(f"retry of {deployment_id} could not start: {desc.get('cause') or desc.get('error')}",
                                stage="retry")
        time.sleep(0.3)
    raise HiveMindError(f"retry of {deployment_id} did not start within {timeout_s:.0f} s", stage="retry")


def status(target: Target, deployment_id: str) -> DeploymentState:
    store, _ = _ports(target)
    return store.get(deployment_id)


def list_deployments(target: Target) -> list[DeploymentState]:
    store, _ = _ports(target)
    return store.list()


def logs(target: Target, deployment_id: str) -> dict[str, Any]:
    store, _ = _ports(target)
    state = store.get(deployment_id)
    out: dict[str, Any] = {
        "id": deployment_id,
        "stage_logs": [e.model_dump(mode="json") for e in store.logs(deployment_id)],
        "errors": [e.model_dump(mode="json") for e in store.errors(deployment_id)],
        "app_logs": {},
    }
    if target.local:
        from hivemind.local import cloud

        out["app_logs"] = cloud.app_logs(deployment_id)
    else:
        out["app_logs_hint"] = (
            f"App logs live on the instances: `aws ssm start-session --target <instance>` then "
            f"`journalctl -u hivemind-{state.id}`."
        )
    return out


def _normalize_repo(repo: str) -> str:
    """Local paths become absolute (the control plane may run in another working directory)."""
    if "://" in repo or repo.startswith("git@"):
        return repo
    path = Path(repo).expanduser()
    return str(path.resolve()) if path.exists() else repo
