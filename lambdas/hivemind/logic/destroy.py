"""Destroy: delete the stack, then prove nothing tagged with the deployment id remains."""

from __future__ import annotations

from pydantic import BaseModel

from hivemind import constants
from hivemind.errors import InvalidInput, StackFailed
from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import TRANSITIONS, DeploymentStatus
from hivemind.models.tasks import Poll


class DestroyResult(BaseModel):
    deployment_id: str
    status: str
    remaining: list[str]
    kept: list[str] = []  # final DB snapshots: the user's data, kept on purpose
    monthly_usd_saved: float | None = None


def destroy_start(deployment_id: str, execution_id: str, ports: Ports) -> Poll:
    state = ports.store.get(deployment_id)
    if state.status is DeploymentStatus.DESTROYED:
        return Poll(done=True, detail={"already": True})
    if state.status is not DeploymentStatus.DESTROYING:
        if DeploymentStatus.DESTROYING not in TRANSITIONS[state.status]:
            raise InvalidInput(
                f"deployment {deployment_id} is {state.status.value}; wait for it to settle before destroying",
                stage="destroy",
            )
        state = ports.store.save(state.transition(DeploymentStatus.DESTROYING, stage="destroy"))
    ports.events.publish(constants.EV_STAGE_CHANGED, {"deployment_id": deployment_id, "stage": "destroy",
                                                      "status": state.status.value})
    name = state.stack_name or (state.plan.stack_name if state.plan else None)
    if name:
        ports.stacks.delete(name)
        log(ports, deployment_id, "destroy", f"deleting stack {name}")
    return Poll(done=False, polls=0, detail={"stack_name": name})


def destroy_finish(deployment_id: str, ports: Ports) -> DestroyResult:
    state = ports.store.get(deployment_id)
    tagged = [r["arn"] for r in ports.tagged.arns(deployment_id)]
    kept = [arn for arn in tagged if _is_final_snapshot(arn)]
    remaining = [arn for arn in tagged if arn not in kept]
    if remaining:
        raise StackFailed(
            f"{len(remaining)} resource(s) tagged {constants.TAG_DEPLOYMENT_ID}={deployment_id} remain after "
            "the stack was deleted",
            stage="destroy",
            remediation="Delete them (`hivemind orphans --delete`) or check why CloudFormation retained them.",
            context={"remaining": remaining[:50]},
        )
    ports.objects.delete_prefix(f"{constants.RELEASES_PREFIX}{deployment_id}/")
    if state.status is not DeploymentStatus.DESTROYED:
        state = ports.store.save(state.transition(DeploymentStatus.DESTROYED, stage="destroy"))
    saved = state.cost.monthly_usd if state.cost else None
    ports.events.publish(constants.EV_DESTROYED, {"deployment_id": deployment_id, "monthly_usd_saved": saved})
    note = f"; kept final DB snapshot(s): {', '.join(a.rsplit(':', 1)[-1] for a in kept)}" if kept else ""
    log(ports, deployment_id, "destroy", f"destroyed; nothing tagged remains{note}", monthly_usd_saved=saved,
        kept=kept)
    return DestroyResult(deployment_id=deployment_id, status=state.status.value, remaining=[], kept=kept,
                         monthly_usd_saved=saved)


def _is_final_snapshot(arn: str) -> bool:
    """The DB's final snapshot (DeletionPolicy: Snapshot) is data the user keeps, not an orphan."""
    return arn.startswith("arn:aws:rds:") and (":snapshot:" in arn or ":cluster-snapshot:" in arn)


class Orphan(BaseModel):
    arn: str
    deployment_id: str
    reason: str


def sweep(ports: Ports) -> list[Orphan]:
    """Every HiveMind-tagged resource whose deployment is destroyed or unknown (HiveMind Janitor)."""
    orphans: list[Orphan] = []
    known: dict[str, DeploymentStatus | None] = {}
    for res in ports.tagged.arns():
        dep = res["deployment_id"]
        if dep not in known:
            found = ports.store.find(dep) if dep else None
            known[dep] = found.status if found else None
        status = known[dep]
        if status is None:
            orphans.append(Orphan(arn=res["arn"], deployment_id=dep, reason="unknown deployment"))
        elif status is DeploymentStatus.DESTROYED:
            orphans.append(Orphan(arn=res["arn"], deployment_id=dep, reason="deployment destroyed"))
    if orphans:
        ports.events.publish(constants.EV_ORPHANS, {"count": len(orphans),
                                                    "orphans": [o.model_dump() for o in orphans[:100]]})
    return orphans
