"""Safe automatic fixes: change the deployment the way a diagnosis says, and name where to resume.

Pure functions of the state: nothing is saved or started here (``hivemind retry --fix`` and
``deploy --auto-fix`` save the new state and resume the pipeline at the returned stage).
A fix is only ever one of ``FIXES``; anything else is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hivemind.errors import InvalidInput
from hivemind.models import DeploymentPlan, DeploymentState, TechStack
from hivemind.planning.plan import FORBIDDEN_PORTS

FixResult = tuple[DeploymentState, str]
PORT_SOURCE = "medic:wrong-port (the port the app was seen listening on)"


def apply_fix(state: DeploymentState, fix: dict[str, Any]) -> FixResult:
    """Return the fixed state and the stage the pipeline must resume at; InvalidInput if it cannot apply."""
    if not isinstance(fix, dict) or not isinstance(fix.get("kind"), str):
        raise InvalidInput(
            f"a fix must be a dict with a 'kind' (one of {', '.join(sorted(FIXES))}), got {fix!r}",
            remediation="Use the `fix` of the deployment's diagnosis (`hivemind status <id> --json`).",
        )
    apply = FIXES.get(fix["kind"])
    if apply is None:
        raise InvalidInput(
            f"unknown fix kind {fix['kind']!r}; HiveMind can apply: {', '.join(sorted(FIXES))}",
            remediation="Apply this change by hand (see the diagnosis' remediation) and `hivemind retry <id>`.",
        )
    return apply(state, fix)


def set_port(state: DeploymentState, fix: dict[str, Any]) -> FixResult:
    """Use the port the app really listens on: in the stack, the plan and the plan's stack.

    The target group, the security groups and the instance's PORT all come from the plan, so the
    pipeline resumes at provision (a stack update), then deploys again.
    """
    port = _port(fix.get("port"))
    if state.plan is None or state.stack is None:
        raise InvalidInput(
            f"deployment {state.id} has no plan yet, so there is no port to fix",
            remediation="Deploy it from the start (`hivemind deploy`); the analysis detects the port.",
        )
    stack = _with_port(state.stack, port)
    plan = DeploymentPlan.model_validate(
        {**state.plan.model_dump(), "port": port, "stack": _with_port(state.plan.stack, port).model_dump()}
    )
    return state.model_copy(update={"stack": stack, "plan": plan}), "provision"


def _with_port(stack: TechStack, port: int) -> TechStack:
    return TechStack.model_validate({**stack.model_dump(), "port": port, "sources": {**stack.sources, "port": PORT_SOURCE}})


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidInput(f"set_port needs a port number, got {value!r}",
                           remediation="Give the fix as {'kind': 'set_port', 'port': <1-65535>}.")
    port = int(value)
    if not 1 <= port <= 65535:
        raise InvalidInput(f"port {port} is not a TCP port (1-65535)",
                           remediation="Give the fix as {'kind': 'set_port', 'port': <1-65535>}.")
    if port in FORBIDDEN_PORTS:
        raise InvalidInput(f"port {port} cannot be used: {FORBIDDEN_PORTS[port]}",
                           remediation="Make the app listen on $PORT instead, then redeploy.")
    return port


FIXES: dict[str, Callable[[DeploymentState, dict[str, Any]], FixResult]] = {"set_port": set_port}
