"""The SSM command (install, build, start) did not finish within the plan's bound."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(polls=first_group(r"after (\d+) polls", lines), bound=first_group(r"\(bound (\d+)\)", lines))


RULE = Rule(
    id="command-timed-out",
    title="the command on the instance did not finish in time",
    stages=("deploy", "harden", "update"),
    signatures=("command_timed_out", "CommandTimeout"),
    patterns=(r"still running after \d+ polls", r"\b(ExecutionTimedOut|DeliveryTimedOut)\b", r"command ended TimedOut"),
    remediation=(
        "Look at the last output lines in the evidence: a build waiting for input (a prompt, a private registry "
        "login) never ends - make it non-interactive. If the build is only slow, use a larger instance "
        "(`--preset production`) or a lighter build; then `hivemind retry <id>`."
    ),
    priority=410,
    extract=extract,
)
