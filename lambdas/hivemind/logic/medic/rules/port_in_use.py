"""Another process already holds the app's port."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import APP_STAGES, APP_SYMPTOMS, some


def extract(lines: list[str]) -> Facts:
    return some(
        port=first_group(r"port (\d+) is already taken", lines)
        or first_group(r"address already in use \S*?:(\d+)\b", lines)
        or first_group(r"listen tcp \S*?:(\d+): bind", lines)
        or first_group(r"^port: (\d+)", lines),
        holder=first_group(r"already taken by another process \(([^)]+)\)", lines),
    )


RULE = Rule(
    id="port-in-use",
    title="the app's port is already in use",
    stages=APP_STAGES,
    signatures=("port_in_use",),
    weak_signatures=APP_SYMPTOMS,
    patterns=(r"EADDRINUSE", r"Address already in use", r"port \d+ is already taken", r"bind: address already in use"),
    remediation=(
        "Something else listens on the app's port on the instance: stop that process (the evidence names it), "
        "or make sure the app starts only once (no second server in the start command); then retry."
    ),
    priority=40,
    extract=extract,
)
