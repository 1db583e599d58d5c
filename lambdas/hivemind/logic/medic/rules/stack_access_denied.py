"""An AWS call was denied: the role that ran it lacks a permission (or an SCP forbids it)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import STACK_STAGES, STACK_TYPES, some


def extract(lines: list[str]) -> Facts:
    return some(
        action=first_group(r"not authorized to perform:? ([\w-]+:\w+)", lines)
        or first_group(r"API: ([\w-]+:\w+)", lines),
        principal=first_group(r"User: (\S+) is not authorized", lines),
    )


RULE = Rule(
    id="stack-access-denied",
    title="AWS denied a call the stack needs",
    stages=STACK_STAGES,
    signatures=(),
    weak_signatures=STACK_TYPES,
    patterns=(
        r"AccessDenied",
        r"is not authorized to perform",
        r"UnauthorizedOperation",
        r"Access Denied(?! for user)",
    ),
    remediation=(
        "Grant the action named in the evidence to the role that ran it (the CloudFormation execution role "
        "`cfn_execution_role_arn`, or the task's role), or lift the SCP/permission boundary that denies it; "
        "then `hivemind retry <id>`."
    ),
    priority=330,
    extract=extract,
)
