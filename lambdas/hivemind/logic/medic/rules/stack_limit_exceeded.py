"""CloudFormation hit an account limit (VPCs, Elastic IPs, vCPUs, load balancers...)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import STACK_STAGES, STACK_TYPES, some

LIMIT = r"(?:(?<!Request)LimitExceeded|QuotaExceeded|maximum number of|limit of \d+|current .* limit)"


def extract(lines: list[str]) -> Facts:
    return some(
        resource=first_group(rf"^(\w+) \([\w:]+\)[^:]*:.*{LIMIT}", lines),
        code=first_group(r"\b(\w*(?<!Request)LimitExceeded\w*|\w*QuotaExceeded\w*)", lines),
    )


RULE = Rule(
    id="stack-limit-exceeded",
    title="an AWS account limit stopped the stack",
    stages=STACK_STAGES,
    signatures=("LimitExceededException", "ServiceQuotaExceededException", "VpcLimitExceeded",
                "AddressLimitExceeded", "InstanceLimitExceeded", "VcpuLimitExceeded"),
    weak_signatures=STACK_TYPES,
    patterns=(
        r"(?<!Request)LimitExceeded",
        r"QuotaExceeded",
        r"maximum number of \w+",
        r"\blimit of \d+",
        r"than your current .*limit",
        r"TooMany(LoadBalancers|TargetGroups|Listeners|Rules|Certificates)",
    ),
    remediation=(
        "Free the resource named in the evidence (`hivemind orphans --delete` removes leftovers of old "
        "deployments) or ask for a higher quota in Service Quotas; then `hivemind retry <id>`."
    ),
    priority=320,
    extract=extract,
)
