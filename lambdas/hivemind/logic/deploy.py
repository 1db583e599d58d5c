"""Deploy: push the release to every in-service instance with SSM Run Command, then poll it."""

from __future__ import annotations

import json
import re

from hivemind import constants
from hivemind.errors import CommandFailed, CommandTimeout, HardeningFailed
from hivemind.logic.common import enter_stage, log, settle
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState
from hivemind.models.tasks import Poll

ERROR_LINE = re.compile(r"^HIVEMIND_ERROR (?P<kind>[a-z_]+): (?P<message>.*)$", re.MULTILINE)
TAIL_LINES = 30


def install_parameters(state: DeploymentState, bucket: str) -> dict[str, list[str]]:
    """The install document's parameters (each validated again by the document's allowedPattern)."""
    assert state.stack and state.plan and state.release
    stack, plan, release = state.stack, state.plan, state.release
    params = {
        "DeploymentId": state.id,
        "ReleaseId": release.id,
        "ReleaseUrl": f"s3://{bucket}/{release.s3_key}",
        "Language": stack.language,
        "PackageManager": stack.package_manager,
        "AppDir": stack.app_dir,
        "BuildCommand": stack.build_command or "",
        "StartCommand": stack.start_command,
        "ReleaseCommand": stack.release_command or "",
        "Port": str(plan.port),
        "HealthPath": plan.health_path,
        "DbSecretArn": state.outputs.get("DbSecretArn", ""),
        "Region": state.region,
        # The plan's bound on the command reaches the SSM step's timeoutSeconds (SSM stops it there).
        "executionTimeout": str(plan.timeouts.command_timeout_s),
    }
    return {k: [v] for k, v in params.items()}


def deploy(deployment_id: str, polls: int, ports: Ports) -> Poll:
    state = enter_stage(ports, ports.store.get(deployment_id), "deploy")
    plan = state.plan
    assert plan is not None
    asg = state.outputs.get("AutoScalingGroupName", "")
    instances = ports.fleet.in_service(asg) if asg else []
    online = ports.commands.online_instances(instances)
    if not instances or online != set(instances):
        if polls + 1 >= plan.timeouts.command_polls:
            raise CommandFailed(
                f"instances of {asg or 'the stack'} did not register with SSM "
                f"({len(online)}/{len(instances)} online after {polls + 1} polls)",
                remediation="Check the instance role has AmazonSSMManagedInstanceCore and the subnet reaches SSM.",
                context={"instances": instances, "online": sorted(online), "signature": "ssm_not_registered"},
            )
        return Poll(done=False, polls=polls + 1, detail={"waiting_for": "instances", "instances": instances})
    if state.release is None:
        raise CommandFailed(f"deployment {deployment_id} has no release to deploy")
    param = state.outputs.get("ReleaseParameterName")
    if param:
        ports.commands.put_parameter(param, json.dumps({"release": state.release.id, "key": state.release.s3_key}))
    command_id = ports.commands.send(
        constants.INSTALL_DOCUMENT,
        instances,
        install_parameters(state, ports.settings.artifacts_bucket),
        timeout_s=plan.timeouts.command_timeout_s,
        comment=f"hivemind {deployment_id} {state.release.id}",
    )
    log(ports, deployment_id, "deploy", f"release {state.release.id} sent to {len(instances)} instance(s)",
        command_id=command_id)
    return Poll(done=True, polls=0, detail={"command_id": command_id, "instance_ids": instances})


def check_command(
    deployment_id: str, command_id: str, instance_ids: list[str], polls: int, ports: Ports, *, phase: str = "deploy"
) -> Poll:
    if not command_id:  # nothing was sent (harden found every instance already hardened)
        return Poll(done=True, polls=polls, detail={"command_id": "", "instance_ids": instance_ids, "skipped": True})
    state = ports.store.get(deployment_id)
    bound = state.plan.timeouts.command_polls if state.plan else 90
    invocations = settle(lambda: [ports.commands.invocation(command_id, i) for i in instance_ids],
                         lambda invs: all(i.done for i in invs) or any(i.done and not i.ok for i in invs), ports)
    for inv in invocations:
        if inv.done and not inv.ok:
            raise _command_error(phase, inv, command_id)
    if all(inv.ok for inv in invocations):
        log(ports, deployment_id, phase, f"command {command_id} succeeded on {len(invocations)} instance(s)",
            output=_tail(invocations[0].stdout, 5))
        if phase == "harden":
            from hivemind.logic.harden import record_hardened

            record_hardened(deployment_id, instance_ids, ports)
        return Poll(done=True, polls=polls, detail={"command_id": command_id, "instance_ids": instance_ids})
    if polls + 1 >= bound:
        last = invocations[0] if invocations else None
        raise CommandTimeout(
            f"{phase} command {command_id} still running after {polls + 1} polls (bound {bound})",
            stage=phase,
            context={"command_id": command_id, "output_tail": _tail(last.stdout if last else "", TAIL_LINES),
                     "signature": "command_timed_out"},
        )
    return Poll(done=False, polls=polls + 1, detail={"command_id": command_id, "instance_ids": instance_ids})


def _command_error(phase: str, inv, command_id: str) -> Exception:
    output = (inv.stdout or "") + ("\n" + inv.stderr if inv.stderr else "")
    matches = list(ERROR_LINE.finditer(output))
    match = matches[-1] if matches else None  # the last HIVEMIND_ERROR line is the one that stopped it
    kind = match.group("kind") if match else ("command_timed_out" if inv.status == "TimedOut" else "command_failed")
    message = match.group("message") if match else f"command ended {inv.status} (exit {inv.response_code})"
    context = {
        "command_id": command_id,
        "instance_id": inv.instance_id,
        "status": inv.status,
        "exit_code": inv.response_code,
        "signature": kind,
        "output_tail": _tail(output, TAIL_LINES),
    }
    if phase == "harden":
        return HardeningFailed(f"hardening failed on {inv.instance_id}: {message}", context=context)
    cls = CommandTimeout if inv.status in {"TimedOut", "ExecutionTimedOut", "DeliveryTimedOut"} else CommandFailed
    return cls(f"deploy failed on {inv.instance_id}: {kind}: {message}", stage=phase, context=context)


def _tail(text: str, n: int) -> list[str]:
    return [line for line in text.splitlines() if line.strip()][-n:]
