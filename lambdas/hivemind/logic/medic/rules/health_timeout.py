"""Nothing answered the health check in time (locally on the instance or through the load balancer)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(
        url=first_group(r"nothing answered at (\S+)", lines) or first_group(r"GET (\S+) ->", lines),
        listens=first_group(r"the app listens on ([^)]+)\)", lines),
    )


RULE = Rule(
    id="health-timeout",
    title="the health check got no answer in time",
    stages=("deploy", "verify", "update"),
    signatures=("health_timeout", "health_check_failed"),
    weak_signatures=("HealthCheckFailed",),
    patterns=(r"nothing answered at", r"no answer", r"timed? ?out", r"Connection refused", r"after \d+ probes"),
    remediation=(
        "Make sure the app listens on $PORT on all interfaces (0.0.0.0) and answers the health path quickly; "
        "if it needs longer to boot, raise the health check bound in the plan. `hivemind logs <id>` shows the "
        "app's output."
    ),
    priority=290,
    text_match=False,
    extract=extract,
)
