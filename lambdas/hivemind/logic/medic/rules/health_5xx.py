"""The app answers its health check with 5xx, or the load balancer has no healthy target."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(status=first_group(r"\bHTTP (5\d\d)\b", lines))


RULE = Rule(
    id="health-5xx",
    title="the app answers its health check with a server error",
    stages=("deploy", "verify", "update"),
    signatures=("health_5xx", "no_healthy_targets"),
    weak_signatures=("health_check_failed", "HealthCheckFailed"),
    patterns=(r"\bHTTP 5\d\d\b", r"no healthy targets", r"Internal Server Error", r"Bad Gateway",
              r"Service Unavailable"),
    remediation=(
        "The app runs but fails its health request: read the app log (`hivemind logs <id>`) for the exception, "
        "check its configuration (DATABASE_URL, required environment variables) and that the health path does "
        "not depend on something that is down; then redeploy."
    ),
    priority=210,
    extract=extract,
)
