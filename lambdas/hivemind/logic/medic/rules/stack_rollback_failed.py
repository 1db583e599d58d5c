"""The stack is stuck: a rollback or a delete failed (UPDATE_ROLLBACK_FAILED, ROLLBACK_FAILED, DELETE_FAILED)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import STACK_TYPES, some
from hivemind.models import ErrorEntry

STUCK = ("UPDATE_ROLLBACK_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_FAILED")


def stuck(error: ErrorEntry) -> bool:
    return str(error.context.get("status", "")) in STUCK


def extract(lines: list[str]) -> Facts:
    return some(
        status=first_group(r"\b(UPDATE_ROLLBACK_FAILED|IMPORT_ROLLBACK_FAILED|ROLLBACK_FAILED|DELETE_FAILED)\b", lines,
                           flags=0),
        resource=first_group(r"^(\w+) \([\w:]+\) \w*(?:DELETE|ROLLBACK|UPDATE)_FAILED", lines, flags=0),
    )


RULE = Rule(
    id="stack-rollback-failed",
    title="the stack is stuck after a failed rollback or delete",
    stages=("provision", "destroy", "rollback", "update"),
    signatures=("StackRecovering",),  # recovery of a stuck stack that outlived its retries
    weak_signatures=STACK_TYPES,
    patterns=(r"\b(UPDATE_ROLLBACK_FAILED|IMPORT_ROLLBACK_FAILED|ROLLBACK_FAILED|DELETE_FAILED)\b",
              r"could not be deleted"),
    remediation=(
        "HiveMind recovers stuck stacks: `hivemind destroy <id>` continues a failed rollback and retries a failed "
        "delete keeping the resources that failed, then removes them directly. Fix the cause in the evidence "
        "first if it is a permission or a dependency outside the stack."
    ),
    priority=300,
    applies=stuck,
    extract=extract,
)
