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


def destroy_start(deployment_id: str, execution_id: str, ports: Ports, *, skip_snapshot: bool = False) -> Poll:
    state = ports.store.get(deployment_id)
    if state.status is DeploymentStatus.DESTROYED:
        return Poll(done=True, detail={"already": True})
    if state.status is not DeploymentStatus.DESTROYING:
        if DeploymentStatus.DESTROYING not in TRANSITIONS[state.status]:
            raise InvalidInput(
                f"deployment {deployment_id} is {state.status.value}; wait for it to settle before destroying",
                stage="destroy",
            )
        state = state.transition(DeploymentStatus.DESTROYING, stage="destroy")
    state = ports.store.save(state.model_copy(update={"execution_arn": execution_id or state.execution_arn}))
    ports.events.publish(constants.EV_STAGE_CHANGED, {"deployment_id": deployment_id, "stage": "destroy",
                                                      "status": state.status.value})
    name = state.stack_name or (state.plan.stack_name if state.plan else None)
    if name:
        if skip_snapshot:
            _delete_databases_without_snapshot(deployment_id, name, ports)
        ports.stacks.delete(name)
        log(ports, deployment_id, "destroy", f"deleting stack {name}")
    return Poll(done=False, polls=0, detail={"stack_name": name})


def _delete_databases_without_snapshot(deployment_id: str, stack_name: str, ports: Ports) -> None:
    """``--skip-snapshot``: the template says DeletionPolicy Snapshot, so the DB goes first, directly.

    CloudFormation then finds the instance gone (or going) and deletes the rest; no final
    snapshot is taken. The user asked for it: their data is not kept.
    """
    databases = ports.extra.get("databases")
    for res in ports.stacks.resources(stack_name):
        if res["type"] == "AWS::RDS::DBInstance" and res["physical_id"] and databases is not None:
            databases.delete_instance(res["physical_id"], skip_final_snapshot=True)
            log(ports, deployment_id, "destroy", f"deleting database {res['physical_id']} without a final "
                "snapshot (--skip-snapshot)", level="WARNING")


def destroy_finish(deployment_id: str, ports: Ports) -> DestroyResult:
    state = ports.store.get(deployment_id)
    kept, remaining = _tagged(deployment_id, ports)
    failed: list[dict[str, str]] = []
    if remaining:
        # Retained by a DELETE_FAILED recovery, or leaked: removed directly, in dependency order.
        from hivemind.logic.orphans import Orphan, delete_orphans

        log(ports, deployment_id, "destroy", f"{len(remaining)} tagged resource(s) outlived the stack; deleting "
            "them directly", remaining=remaining[:50])
        report = delete_orphans([Orphan(arn=arn, deployment_id=deployment_id, reason="outlived its stack")
                                 for arn in remaining], ports)
        failed = [f.model_dump() for f in report.failed]
        kept, remaining = _tagged(deployment_id, ports)
    if remaining:
        raise StackFailed(
            f"{len(remaining)} resource(s) tagged {constants.TAG_DEPLOYMENT_ID}={deployment_id} remain after "
            "the stack was deleted and a direct delete",
            stage="destroy",
            remediation="Read each resource's error in the context, remove what holds it, then "
                        "`hivemind destroy <id>` again (or `hivemind orphans --delete`).",
            context={"remaining": remaining[:50], "failed": failed[:50]},
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


def _tagged(deployment_id: str, ports: Ports) -> tuple[list[str], list[str]]:
    """(final snapshots kept on purpose, everything else still tagged with the deployment id)."""
    tagged = [r["arn"] for r in ports.tagged.arns(deployment_id)]
    kept = [arn for arn in tagged if _is_final_snapshot(arn)]
    return kept, [arn for arn in tagged if arn not in kept]


def _is_final_snapshot(arn: str) -> bool:
    """The DB's final snapshot (DeletionPolicy: Snapshot) is data the user keeps, not an orphan."""
    return arn.startswith("arn:aws:rds:") and (":snapshot:" in arn or ":cluster-snapshot:" in arn)

