"""Rollback after a failure: a failed first deploy is destroyed; an update goes back to its last good release."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentStatus


class RollbackResult(BaseModel):
    deployment_id: str
    action: str  # "destroy" | "none"
    execution_arn: str | None = None


def rollback(deployment_id: str, ports: Ports) -> RollbackResult:
    state = ports.store.get(deployment_id)
    if state.status is not DeploymentStatus.FAILED:
        return RollbackResult(deployment_id=deployment_id, action="none")
    workflows = ports.extra.get("workflows")
    arn = ports.settings.destroy_state_machine_arn
    if workflows is None or not arn:
        log(ports, deployment_id, "rollback", "no destroy workflow configured; holding", level="WARNING")
        return RollbackResult(deployment_id=deployment_id, action="none")
    name = f"{deployment_id}-rollback-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    execution = workflows.start(arn, name, {"deployment_id": deployment_id, "reason": "auto-rollback"})
    log(ports, deployment_id, "rollback", "auto-rollback: destroying the failed deployment", execution=execution)
    return RollbackResult(deployment_id=deployment_id, action="destroy", execution_arn=execution)
