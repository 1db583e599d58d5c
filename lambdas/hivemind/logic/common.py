"""Helpers every stage uses: move the deployment to a stage, log it, emit the event."""

from __future__ import annotations

from typing import Any

from hivemind import constants
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus, LogEntry

STAGE_STATUS: dict[str, DeploymentStatus] = {
    "analyze": DeploymentStatus.ANALYZING,
    "plan": DeploymentStatus.ANALYZING,
    "provision": DeploymentStatus.PROVISIONING,
    "deploy": DeploymentStatus.DEPLOYING,
    "harden": DeploymentStatus.HARDENING,
    "verify": DeploymentStatus.VERIFYING,
}


def enter_stage(ports: Ports, state: DeploymentState, stage: str) -> DeploymentState:
    """Move ``state`` to ``stage`` (and its status, unless this is an update) and announce it."""
    if state.stage == stage and state.status in {STAGE_STATUS.get(stage), DeploymentStatus.UPDATING}:
        return state  # a retried task: already there
    if state.status is DeploymentStatus.UPDATING:
        new = state.model_copy(update={"stage": stage})
    else:
        new = state.transition(STAGE_STATUS[stage], stage=stage)
    new = ports.store.save(new)
    log(ports, new.id, stage, f"{stage} started")
    ports.events.publish(
        constants.EV_STAGE_CHANGED,
        {"deployment_id": new.id, "stage": stage, "status": new.status.value, "release": _rel(new)},
    )
    return new


def log(ports: Ports, deployment_id: str, stage: str, message: str, level: str = "INFO", **data: Any) -> None:
    ports.store.add_log(LogEntry(deployment_id=deployment_id, stage=stage, level=level, message=message, data=data))


def _rel(state: DeploymentState) -> str | None:
    return state.release.id if state.release else None

