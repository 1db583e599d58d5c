"""Helpers every stage uses: move the deployment to a stage, log it, emit the event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hivemind import constants
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus, LogEntry

T = TypeVar("T")
SETTLE_STEP_S = 0.25

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


def settle(look: Callable[[], T], done: Callable[[T], bool], ports: Ports) -> T:
    """Look, and while not ``done`` look again every SETTLE_STEP_S for up to ``settings.settle_s``.

    A wait loop's check runs this before it answers "not yet": a command or stack that ends a
    moment after the first look is seen within a fraction of a second, instead of after the
    state machine's next Wait (10 s on AWS). It costs a little Lambda time, far under the task
    timeout; the loop's poll bound still counts Wait cycles.
    """
    deadline = ports.clock() + ports.settings.settle_s
    seen = look()
    while not done(seen) and ports.clock() + SETTLE_STEP_S <= deadline:
        ports.sleep(SETTLE_STEP_S)
        seen = look()
    return seen
