"""The instances never registered with SSM, so no command can reach them."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(online=first_group(r"\((\d+/\d+) online", lines))


RULE = Rule(
    id="ssm-not-registered",
    title="the instances did not register with SSM",
    stages=("deploy", "harden", "update"),
    signatures=("ssm_not_registered",),
    patterns=(r"did not register with SSM", r"InvalidInstanceId", r"not in a valid state for account",
              r"\d+/\d+ online after"),
    remediation=(
        "The SSM agent on the instances cannot reach SSM: check the instance role has "
        "AmazonSSMManagedInstanceCore, the subnet has a route to SSM (public IP, NAT gateway or VPC endpoints) "
        "and the instance booted (`aws ec2 get-console-output`); then `hivemind retry <id>`."
    ),
    priority=400,
    extract=extract,
)
