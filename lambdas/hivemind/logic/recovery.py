"""Deployments whose workflow execution died: mark them failed, at the stage they reached.

A deployment in an active status (``models.state.ACTIVE``) promises that an execution is moving
it on. When that execution is gone or no longer RUNNING (the local cloud was killed mid-deploy,
an execution was stopped by hand, a Step Functions quota ended it) nothing ever will: the
deployment would stay "deploying" forever and block retry and destroy. ``reconcile_interrupted``
records an ``ExecutionInterrupted`` error through the normal failure path (error item, status
failed keeping the stage, ``Deployment Failed`` event, cleanup timer), so ``hivemind retry``
resumes at that stage and ``hivemind destroy`` works.
"""

from __future__ import annotations

import json
from typing import Any

from hivemind.errors import ExecutionInterrupted
from hivemind.logic.failure import record_failure
from hivemind.logic.ports import Ports
from hivemind.models.state import ACTIVE, DeploymentState

RUNNING = "RUNNING"
MAX_DEPLOYMENTS = 1000


def _execution_status(workflows: Any, execution_arn: str | None) -> tuple[str | None, str | None]:
    """(status, cause) of the execution; (None, why) when there is none to ask about."""
    if not execution_arn:
        return None, "the deployment has no execution recorded"
    if workflows is None:
        return RUNNING, None  # nobody to ask: do not fail what may still be running
    try:
        desc = workflows.describe(execution_arn)
    except Exception as exc:  # noqa: BLE001 - ExecutionDoesNotExist and friends: the execution is gone
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        if code in (None, "ExecutionDoesNotExist", "StateMachineDoesNotExist", "ResourceNotFound"):
            return None, f"its execution {execution_arn} no longer exists"
        raise
    return str(desc.get("status")), desc.get("cause") or desc.get("error")


def interrupted_error(state: DeploymentState, status: str | None, why: str | None) -> ExecutionInterrupted:
    stage = state.stage
    what = f"execution {status}" if status else (why or "no execution")
    message = (f"deployment {state.id} was {state.status.value} at stage {stage}, but its workflow is not running "
               f"({what}{'; ' + why if status and why else ''}): it was interrupted")
    return ExecutionInterrupted(
        message,
        stage=stage,
        remediation=f"`hivemind retry {state.id}` resumes at {stage}; `hivemind destroy {state.id}` removes it.",
        context={"execution_arn": state.execution_arn, "execution_status": status, "status_before": state.status.value},
    )


def reconcile_interrupted(ports: Ports) -> list[str]:
    """Mark every active deployment whose execution is missing or not RUNNING as failed; return their ids."""
    workflows = ports.extra.get("workflows")
    marked = []
    for state in ports.store.list(limit=MAX_DEPLOYMENTS):
        if state.status not in ACTIVE:
            continue
        status, why = _execution_status(workflows, state.execution_arn)
        if status == RUNNING:
            continue
        error = interrupted_error(state, status, why)
        # The same encoding a task's error has in an ASL Catch (handlers/common.py): the Cause is
        # Lambda's error JSON whose errorMessage is the HiveMindError's JSON.
        cause = json.dumps({"errorType": error.type, "errorMessage": json.dumps(error.to_dict(), default=str)})
        record_failure(state.id, {"Error": error.type, "Cause": cause}, ports)
        marked.append(state.id)
    return marked
