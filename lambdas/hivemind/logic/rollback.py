"""Rollback: a failed update goes back to its last good release; a failed first deploy is destroyed."""

from __future__ import annotations

from pydantic import BaseModel

from hivemind.logic import launch
from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentStatus
from hivemind.models.tasks import DeployRequest


class RollbackResult(BaseModel):
    deployment_id: str
    action: str  # "destroy" | "previous-release" | "none"
    execution_arn: str | None = None
    release: str | None = None


def rollback(deployment_id: str, ports: Ports) -> RollbackResult:
    """The auto-rollback of a failed execution (``--auto-rollback``)."""
    state = ports.store.get(deployment_id)
    if state.status is not DeploymentStatus.FAILED:
        return RollbackResult(deployment_id=deployment_id, action="none")
    workflows = ports.extra.get("workflows")
    settings = ports.settings
    if workflows is None:
        log(ports, deployment_id, "rollback", "no workflow client configured; holding", level="WARNING")
        return RollbackResult(deployment_id=deployment_id, action="none")
    if not state.good_releases:
        # Never succeeded: nothing to go back to, and nothing worth keeping.
        execution = launch.start_destroy(workflows, settings.destroy_state_machine_arn, deployment_id,
                                         reason="auto-rollback")
        log(ports, deployment_id, "rollback", "auto-rollback: a failed first deploy is destroyed", execution=execution)
        return RollbackResult(deployment_id=deployment_id, action="destroy", execution_arn=execution)
    target = state.rollback_target()
    if target is None:
        log(ports, deployment_id, "rollback", "auto-rollback: the failing release is the last good one; holding "
            "for `hivemind retry` or a fix", level="WARNING")
        return RollbackResult(deployment_id=deployment_id, action="none")
    request = DeployRequest(deployment_id=deployment_id, region=state.region, preset=state.preset, rollback=True)
    execution = launch.start_deploy(workflows, settings.deploy_state_machine_arn, request)
    log(ports, deployment_id, "rollback", f"auto-rollback: going back to {target.release.id}", execution=execution)
    return RollbackResult(deployment_id=deployment_id, action="previous-release", execution_arn=execution,
                          release=target.release.id)
