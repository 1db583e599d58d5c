"""Harden: least-privilege network (no SSH, instances only from the ALB) and the OS hardening document."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from hivemind import constants
from hivemind.errors import HardeningFailed
from hivemind.logic.common import enter_stage, log
from hivemind.logic.ports import Ports
from hivemind.models.tasks import Poll

OPEN = {"0.0.0.0/0", "::/0"}


def network_findings(groups: list[dict]) -> list[tuple[str, dict]]:
    """Ingress rules of the instance security group that must not exist: SSH, or open to the world."""
    bad: list[tuple[str, dict]] = []
    for group in groups:
        for perm in group.get("IpPermissions", []):
            ports = range(perm.get("FromPort", 0), perm.get("ToPort", 65535) + 1) if "FromPort" in perm else range(0, 65536)
            world = {r.get("CidrIp") for r in perm.get("IpRanges", [])} | {
                r.get("CidrIpv6") for r in perm.get("Ipv6Ranges", [])
            }
            if 22 in ports:
                bad.append((f"ssh-open:{group['GroupId']}", perm))
            elif world & OPEN:
                bad.append((f"world-open:{group['GroupId']}", perm))
    return bad


def harden(deployment_id: str, ports: Ports) -> Poll:
    state = enter_stage(ports, ports.store.get(deployment_id), "harden")
    asg = state.outputs.get("AutoScalingGroupName", "")
    instance_ids = ports.fleet.in_service(asg) if asg else []
    if not instance_ids:
        raise HardeningFailed(f"no in-service instance in {asg or 'the stack'} to harden")
    sg = state.outputs.get("InstanceSecurityGroupId")
    revoked = []
    if sg:
        for finding, perm in network_findings(ports.fleet.security_groups([sg])):
            clean = {k: v for k, v in perm.items() if k in {"IpProtocol", "FromPort", "ToPort", "IpRanges",
                                                             "Ipv6Ranges", "UserIdGroupPairs"}}
            ports.fleet.revoke_ingress(sg, [clean])
            revoked.append(finding)
            log(ports, deployment_id, "harden", f"revoked ingress rule ({finding})", level="WARNING")
    version = harden_version()
    if all(state.hardened.get(i) == version for i in instance_ids):
        # The OS hardening is a property of the instance: already done on each of these, with
        # this very document. The network check above runs every time (the stack may change).
        log(ports, deployment_id, "harden", f"{len(instance_ids)} instance(s) already hardened with "
            f"document {version}; not sending it again", revoked=revoked)
        return Poll(done=True, polls=0, detail={"command_id": "", "instance_ids": instance_ids, "revoked": revoked})
    timeout = state.plan.timeouts.command_timeout_s if state.plan else 300
    command_id = ports.commands.send(
        constants.HARDEN_DOCUMENT, instance_ids, {"DeploymentId": [deployment_id]}, timeout_s=min(timeout, 600),
        comment=f"hivemind harden {deployment_id}",
    )
    log(ports, deployment_id, "harden", f"hardening sent to {len(instance_ids)} instance(s)", revoked=revoked)
    return Poll(done=True, polls=0, detail={"command_id": command_id, "instance_ids": instance_ids,
                                            "revoked": revoked})


@lru_cache(maxsize=1)
def harden_version() -> str:
    """A short hash of the harden document this code sends (changes whenever harden.sh changes)."""
    from hivemind.scripts.documents import harden_document

    return hashlib.sha256(json.dumps(harden_document(), sort_keys=True).encode()).hexdigest()[:12]


def record_hardened(deployment_id: str, instance_ids: list[str], ports: Ports) -> None:
    """After the harden command succeeded: remember which instances carry which document version."""
    state = ports.store.get(deployment_id)
    hardened = {**state.hardened, **dict.fromkeys(instance_ids, harden_version())}
    ports.store.save(state.model_copy(update={"hardened": hardened}))
