"""The health path answers 404: the route does not exist in the app."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(
        health_path=first_group(r"the health path (\S+) does not exist", lines),
        url=first_group(r"GET (\S+) -> HTTP 404", lines) or first_group(r"(\S+) answered HTTP 404", lines),
    )


RULE = Rule(
    id="health-404",
    title="the health path returns 404",
    stages=("deploy", "verify", "update"),
    signatures=("health_404",),
    weak_signatures=("health_check_failed", "HealthCheckFailed"),
    patterns=(r"\bHTTP 404\b", r"does not exist in the app"),
    remediation=(
        "Make the health path HiveMind probes answer 200: add the route to the app, or fix the file the path "
        "was detected from (`hivemind analyze <repo>` shows the path and its source); then redeploy."
    ),
    priority=200,
    extract=extract,
)
