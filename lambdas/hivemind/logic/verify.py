"""Verify: success is what a user sees through the load balancer, not a command's exit code."""

from __future__ import annotations

from hivemind.errors import HealthCheckFailed
from hivemind.logic.common import enter_stage, log, settle
from hivemind.logic.ports import Ports
from hivemind.models.tasks import Poll


def verify(deployment_id: str, polls: int, ports: Ports) -> Poll:
    state = enter_stage(ports, ports.store.get(deployment_id), "verify")
    assert state.plan is not None
    if not state.url:
        raise HealthCheckFailed(f"deployment {deployment_id} has no URL (stack output `Url` missing)")
    base, health_path = state.url.rstrip("/"), state.plan.health_path

    def look() -> tuple:
        health = ports.probe.get(base + health_path)
        return health, (ports.probe.get(base + "/") if health.ok and health_path != "/" else health)

    health, root = settle(look, lambda seen: seen[0].ok and seen[1].ok, ports)
    if health.ok and root.ok:
        log(ports, deployment_id, "verify", f"GET {root.url} -> {root.status} in {root.elapsed_ms:.0f} ms")
        return Poll(done=True, polls=polls, detail={"url": state.url, "status": root.status,
                                                    "elapsed_ms": root.elapsed_ms})
    bound = state.plan.timeouts.health_polls
    if polls + 1 >= bound:
        targets = []
        tg = state.outputs.get("TargetGroupArn")
        if tg:
            targets = ports.fleet.target_health(tg)
        failing = root if health.ok else health
        seen = f"HTTP {failing.status}" if failing.status else (failing.error or "no answer")
        raise HealthCheckFailed(
            f"GET {failing.url} -> {seen} after {polls + 1} probes",
            context={
                "url": failing.url,
                "last_status": failing.status,
                "last_error": failing.error,
                "last_body": failing.body[:500],
                "targets": targets,
                "signature": _signature(failing.status, targets),
            },
        )
    return Poll(done=False, polls=polls + 1, detail={"last_status": health.status, "last_error": health.error})


def _signature(status: int | None, targets: list[dict]) -> str:
    if status == 404:
        return "health_404"
    if status is not None and status >= 500 and not any(t.get("state") == "healthy" for t in targets):
        return "no_healthy_targets"
    if status is not None and status >= 500:
        return "health_5xx"
    return "health_timeout"
