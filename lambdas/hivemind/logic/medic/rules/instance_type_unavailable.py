"""The planned instance type is not offered (or has no capacity) in the chosen Availability Zone."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import STACK_STAGES, STACK_TYPES, some


def extract(lines: list[str]) -> Facts:
    return some(
        instance_type=first_group(r"instance type \(?([a-z][a-z0-9-]*\.[a-z0-9]+)\)?", lines)
        or first_group(r"sufficient ([a-z][a-z0-9-]*\.[a-z0-9]+) capacity", lines),
        availability_zone=first_group(r"Availability Zone \(?([a-z]{2}(?:-gov)?-[a-z]+-\d[a-z])\)?", lines),
    )


RULE = Rule(
    id="instance-type-unavailable",
    title="the instance type is not available in the Availability Zone",
    stages=STACK_STAGES,
    signatures=("InsufficientInstanceCapacity", "Unsupported"),
    weak_signatures=STACK_TYPES,
    patterns=(
        r"instance type \(?\S+?\)? is not supported in your requested Availability Zone",
        r"Unsupported.*instance type",
        r"InsufficientInstanceCapacity",
        r"do not have sufficient \S+ capacity",
        r"requested configuration is currently not supported",
    ),
    remediation=(
        "The instance type is not offered in that Availability Zone right now: retry in another region "
        "(`--region`), or later for a capacity shortage (`hivemind retry <id>`); `aws ec2 "
        "describe-instance-type-offerings --location-type availability-zone` lists where it is offered."
    ),
    priority=310,
    extract=extract,
)
