"""Provision: apply the application's template through a change set, then poll until it settles."""

from __future__ import annotations

from hivemind import constants
from hivemind.errors import StackFailed, StackRecovering, StackTimeout
from hivemind.logic.common import enter_stage, log, settle
from hivemind.logic.ports import Ports
from hivemind.models.tasks import Poll
from hivemind.planning.template import build_template


def tags_for(deployment_id: str, app: str) -> dict[str, str]:
    return {constants.TAG_DEPLOYMENT_ID: deployment_id, constants.TAG_MANAGED_BY: "hivemind", constants.TAG_APP: app}


def provision(deployment_id: str, execution_id: str, ports: Ports) -> Poll:
    state = enter_stage(ports, ports.store.get(deployment_id), "provision")
    if state.plan is None:
        raise StackFailed(f"deployment {deployment_id} has no plan; run it from the start", stage="provision")
    _unstick(deployment_id, state.plan.stack_name, ports)
    template = build_template(state.plan)
    # One token per execution: a retried task reuses the same change set instead of a second one.
    token = _token(execution_id or f"{deployment_id}-manual")
    outcome = ports.stacks.apply(
        state.plan.stack_name, template, tags=tags_for(deployment_id, state.plan.app_name), token=token
    )
    log(ports, deployment_id, "provision", f"stack {state.plan.stack_name}: change set {outcome}")
    return Poll(done=False, polls=0, detail={"stack_name": state.plan.stack_name, "change_set": outcome})


# A stack in one of these cannot take a change set: recover it first (never abandon it).
_DEAD_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})


def _unstick(deployment_id: str, name: str, ports: Ports) -> None:
    """Bring a stuck stack back to a state a change set can start from, or say we are on it.

    - UPDATE_ROLLBACK_FAILED: continue the rollback (CloudFormation's own recovery); the stack
      returns to its last good template.
    - ROLLBACK_COMPLETE / ROLLBACK_FAILED / CREATE_FAILED: a first create that died; it cannot be
      updated, only deleted and created again (it holds nothing worth keeping).
    - *_IN_PROGRESS: someone (maybe our own recovery) is still working on it. REVIEW_IN_PROGRESS
      (a change set was created, never executed) is not: the next change set starts from it.
    Each case raises StackRecovering: the state machine's Retry runs provision again with backoff
    until the stack is ready (bounded by that Retry's MaxAttempts, about 10 minutes).
    """
    status = ports.stacks.status(name)
    if status.status == "UPDATE_ROLLBACK_FAILED":
        ports.stacks.continue_update_rollback(name)
        log(ports, deployment_id, "provision", f"stack {name} was UPDATE_ROLLBACK_FAILED: continuing its rollback",
            level="WARNING")
        raise StackRecovering(f"stack {name} is recovering from UPDATE_ROLLBACK_FAILED", stage="provision")
    if status.status in _DEAD_CREATE:
        ports.stacks.delete(name)
        log(ports, deployment_id, "provision", f"stack {name} was {status.status} (a failed first create): "
            "deleting it to create it again", level="WARNING")
        raise StackRecovering(f"stack {name} is being deleted after a failed create", stage="provision")
    if status.busy:
        raise StackRecovering(f"stack {name} is {status.status}; waiting for it to settle", stage="provision")


def check_stack(deployment_id: str, polls: int, ports: Ports, *, deleting: bool = False) -> Poll:
    state = ports.store.get(deployment_id)
    name = state.stack_name or (state.plan.stack_name if state.plan else f"hm-{deployment_id}")
    bound = state.plan.timeouts.stack_polls if state.plan else 120
    status = settle(lambda: ports.stacks.status(name), lambda st: not st.in_progress, ports)
    if deleting:
        if status.status in {"DOES_NOT_EXIST", "DELETE_COMPLETE"}:
            return Poll(done=True, polls=polls, detail={"status": "DELETE_COMPLETE"})
        if status.status == "DELETE_FAILED":
            return _retry_delete_retaining(deployment_id, name, status, polls, bound, ports)
    else:
        if status.complete:
            ports.store.save(state.model_copy(update={"outputs": status.outputs, "url": status.outputs.get("Url"),
                                                      "stack_name": name}))
            log(ports, deployment_id, "provision", f"stack {name} {status.status}")
            return Poll(done=True, polls=polls, detail={"status": status.status})
        if status.status == "UPDATE_ROLLBACK_FAILED":
            # The update failed and so did its rollback: continue the rollback (the stack goes
            # back to its last good template), then report the update's failure below.
            ports.stacks.continue_update_rollback(name)
            log(ports, deployment_id, "provision", f"stack {name} UPDATE_ROLLBACK_FAILED: continuing the rollback "
                f"({_first_reason(status)})", level="WARNING")
            return Poll(done=False, polls=polls + 1, detail={"status": status.status, "recovering": True})
        if status.failed or status.status == "DOES_NOT_EXIST":
            raise StackFailed(
                f"stack {name} is {status.status}: {_first_reason(status)}",
                context={"status": status.status, "events": [e.model_dump() for e in status.failure_events]},
            )
    if polls + 1 >= bound:
        raise StackTimeout(
            f"stack {name} still {status.status} after {polls + 1} polls (bound {bound})",
            stage="destroy" if deleting else "provision",
            context={"status": status.status, "last_reason": status.reason},
        )
    return Poll(done=False, polls=polls + 1, detail={"status": status.status})


def _retry_delete_retaining(deployment_id: str, name: str, status, polls: int, bound: int, ports: Ports) -> Poll:
    """DELETE_FAILED: delete again keeping the resources that failed; destroy's finish removes them directly.

    Retained resources keep their deployment-id tag, so the proof of destruction finds them and
    deletes them in dependency order (or reports them by id).
    """
    failed = ports.stacks.delete_failed_resources(name)
    if not failed or polls + 1 >= bound:
        raise StackFailed(
            f"stack {name} could not be deleted: {_first_reason(status)}",
            stage="destroy",
            context={"status": status.status, "events": [e.model_dump() for e in status.failure_events],
                     "failed_resources": failed},
        )
    ports.stacks.delete(name, retain=[r["logical_id"] for r in failed])
    log(ports, deployment_id, "destroy", f"stack {name} DELETE_FAILED ({_first_reason(status)}); deleting it again "
        f"retaining {', '.join(r['logical_id'] for r in failed)}, which are removed directly afterwards",
        level="WARNING", retained=failed)
    return Poll(done=False, polls=polls + 1, detail={"status": status.status, "retained": failed})


def _first_reason(status) -> str:
    for event in status.failure_events:
        if event.reason:
            return f"{event.logical_id} ({event.type}): {event.reason}"
    return status.reason or "no reason given"


def _token(execution_id: str) -> str:
    # Execution ARNs contain ':'; change-set names and tokens allow [a-zA-Z0-9-].
    tail = execution_id.rsplit(":", 1)[-1]
    return "".join(c if c.isalnum() or c == "-" else "-" for c in tail)[-100:]
