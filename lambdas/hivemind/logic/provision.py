"""Provision: apply the application's template through a change set, then poll until it settles."""

from __future__ import annotations

from hivemind import constants
from hivemind.errors import StackFailed, StackTimeout
from hivemind.logic.common import enter_stage, log
from hivemind.logic.ports import Ports
from hivemind.models.tasks import Poll
from hivemind.planning.template import build_template


def tags_for(deployment_id: str, app: str) -> dict[str, str]:
    return {constants.TAG_DEPLOYMENT_ID: deployment_id, constants.TAG_MANAGED_BY: "hivemind", constants.TAG_APP: app}


def provision(deployment_id: str, execution_id: str, ports: Ports) -> Poll:
    state = enter_stage(ports, ports.store.get(deployment_id), "provision")
    if state.plan is None:
        raise StackFailed(f"deployment {deployment_id} has no plan; run it from the start", stage="provision")
    template = build_template(state.plan)
    # One token per execution: a retried task reuses the same change set instead of a second one.
    token = _token(execution_id or f"{deployment_id}-manual")
    outcome = ports.stacks.apply(
        state.plan.stack_name, template, tags=tags_for(deployment_id, state.plan.app_name), token=token
    )
    log(ports, deployment_id, "provision", f"stack {state.plan.stack_name}: change set {outcome}")
    return Poll(done=False, polls=0, detail={"stack_name": state.plan.stack_name, "change_set": outcome})


def check_stack(deployment_id: str, polls: int, ports: Ports, *, deleting: bool = False) -> Poll:
    state = ports.store.get(deployment_id)
    name = state.stack_name or (state.plan.stack_name if state.plan else f"hm-{deployment_id}")
    bound = state.plan.timeouts.stack_polls if state.plan else 120
    status = ports.stacks.status(name)
    if deleting:
        if status.status in {"DOES_NOT_EXIST", "DELETE_COMPLETE"}:
            return Poll(done=True, polls=polls, detail={"status": "DELETE_COMPLETE"})
        if status.status == "DELETE_FAILED":
            raise StackFailed(
                f"stack {name} could not be deleted: {_first_reason(status)}",
                stage="destroy",
                context={"status": status.status, "events": [e.model_dump() for e in status.failure_events]},
            )
    else:
        if status.complete:
            ports.store.save(state.model_copy(update={"outputs": status.outputs, "url": status.outputs.get("Url"),
                                                      "stack_name": name}))
            log(ports, deployment_id, "provision", f"stack {name} {status.status}")
            return Poll(done=True, polls=polls, detail={"status": status.status})
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


def _first_reason(status) -> str:
    for event in status.failure_events:
        if event.reason:
            return f"{event.logical_id} ({event.type}): {event.reason}"
    return status.reason or "no reason given"


def _token(execution_id: str) -> str:
    # Execution ARNs contain ':'; change-set names and tokens allow [a-zA-Z0-9-].
    tail = execution_id.rsplit(":", 1)[-1]
    return "".join(c if c.isalnum() or c == "-" else "-" for c in tail)[-100:]
